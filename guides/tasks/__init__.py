"""Celery tasks of the workbench (thin, idempotent; they call services). Each area's module
is imported here so the worker registers it."""
