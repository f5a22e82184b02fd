"""Celery tasks of member profiles: thin, idempotent, taking ids and calling services."""

from __future__ import annotations

from celery import shared_task

from ..services import profiles as profile_services


@shared_task(acks_late=True, ignore_result=True)
def compute_profiles_task(run_id: int) -> None:
    """Carry out one profile run (a finished run is left alone; a rerun is idempotent)."""
    profile_services.run_profile_computation(run_id=run_id)


@shared_task(acks_late=True, ignore_result=True)
def compute_all_profiles_task() -> int:
    """Nightly: start a profile run for every brand that has none going; returns how many."""
    return len(profile_services.start_all_profile_runs())
