"""Celery tasks of device dispensers: thin, idempotent, taking ids."""
