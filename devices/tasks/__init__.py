"""Celery tasks of devices, one module per area (importing them registers them)."""

from . import backflow, dispensers, ingest, registry  # noqa: F401
