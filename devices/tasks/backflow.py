"""Celery tasks of device backflow: thin, idempotent, taking ids."""
