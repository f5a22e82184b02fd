"""Celery tasks of member imports: thin, idempotent, taking ids and calling services."""
