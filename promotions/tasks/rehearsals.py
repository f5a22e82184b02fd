"""Celery tasks of rehearsals: one store's sandboxed walk through the campaign's flow."""

from __future__ import annotations

from celery import shared_task

from ..services import rehearsals as services


@shared_task(acks_late=True, ignore_result=True)
def run_store_rehearsal_task(run_id: int) -> None:
    """Rehearse one store (idempotent: a finished run is left as it is)."""
    services.run_store_rehearsal(run_id=run_id)
