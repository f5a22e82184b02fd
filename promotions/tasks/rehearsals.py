"""Celery tasks (filled in by the area's services)."""
