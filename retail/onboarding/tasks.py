"""Celery tasks of onboarding: thin wrappers that take ids and call the services."""

from __future__ import annotations

from celery import shared_task

from . import imports


@shared_task(acks_late=True, ignore_result=True)
def run_onboarding_import_task(import_id: int) -> None:
    """Import a CSV of stores (idempotent: a finished import is left as it is)."""
    imports.run_onboarding_import(import_id=import_id)
