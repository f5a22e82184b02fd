"""Celery tasks of member imports: thin, idempotent, taking ids and calling services."""

from __future__ import annotations

from celery import shared_task

from ..services import imports


@shared_task(acks_late=True, ignore_result=True)
def check_member_import_task(import_id: int) -> None:
    """The dry run of an import; a repeat (import no longer `checking`) does nothing."""
    imports.check_member_import(import_id=import_id)


@shared_task(acks_late=True, ignore_result=True)
def run_member_import_task(import_id: int) -> None:
    """Import (or resume importing) the valid rows after the last committed batch; a second
    runner of the same import stops at its first batch (the import row's lock and
    `rows_done` tell it someone else is on it)."""
    imports.run_member_import(import_id=import_id)


@shared_task(acks_late=True, ignore_result=True)
def discard_stale_uploads_task() -> None:
    """Daily: delete uploaded files of imports left unfinished (they hold clear PII)."""
    imports.discard_stale_uploads()
