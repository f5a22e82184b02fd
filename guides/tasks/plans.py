"""Celery tasks of call plans: making a started plan's tasks."""

from __future__ import annotations

from celery import shared_task

from ..services import plans as services


@shared_task(acks_late=True, ignore_result=True)
def generate_plan_tasks_task(plan_id: int) -> None:
    """Make the plan's tasks (idempotent: the unique (plan, member) keeps a retry harmless)."""
    services.generate_plan_tasks(plan_id=plan_id)
