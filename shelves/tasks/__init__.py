"""Celery tasks of cloud shelves, one module per area (importing them registers them)."""

from . import kiosk, scans  # noqa: F401
