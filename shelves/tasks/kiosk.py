"""Celery tasks of the kiosk area."""
