"""Celery tasks of promotions: thin, idempotent, calling services."""

from . import campaigns, coupons, offline, rehearsals  # noqa: F401
