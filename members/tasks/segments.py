"""Celery tasks of member segments: thin, idempotent, taking ids and calling services."""
