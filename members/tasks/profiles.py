"""Celery tasks of member profiles: thin, idempotent, taking ids and calling services."""
