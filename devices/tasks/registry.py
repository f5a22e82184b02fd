"""Celery tasks of device registry: thin, idempotent, taking ids."""
