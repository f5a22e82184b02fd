"""Long jobs (imports, segment materialisation, profile computation) off the request path.

`enqueue_job(task, *args)` hands a Celery task over once the current transaction commits:
- with a broker (production): `task.delay(*args)`, a worker runs it;
- in the embedded mode (`make run`, Celery eager): a single background thread of the server
  process runs it, so the page that started it answers at once and polls its progress;
- in tests (`JOBS_INLINE`): inline, right after commit, so a test sees the finished job.

Tasks must be idempotent and record their own progress on their row (a job's page polls it).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction

logger = logging.getLogger(__name__)
_executor: ThreadPoolExecutor | None = None


def _thread_pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tiandi-job")
    return _executor


def _run_in_thread(task: Any, args: tuple) -> None:
    close_old_connections()
    try:
        task.apply(args=args, throw=True)
    except Exception:  # the task recorded its failure on its row; keep the thread alive
        logger.exception("background job %s%r failed", task.name, args)
    finally:
        close_old_connections()


def enqueue_job(task: Any, *args: Any) -> None:
    """Run `task(*args)` in the background once the current transaction commits."""

    def hand_off() -> None:
        if settings.JOBS_INLINE:
            task.apply(args=args, throw=True)
        elif settings.CELERY_TASK_ALWAYS_EAGER:
            _thread_pool().submit(_run_in_thread, task, args)
        else:
            task.delay(*args)

    transaction.on_commit(hand_off)
