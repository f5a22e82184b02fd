"""Celery tasks of device ingest: thin, idempotent, taking ids."""
