"""Celery tasks of scans."""
