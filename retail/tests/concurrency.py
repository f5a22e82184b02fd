"""Concurrency tests' shared parts: run calls in threads released at once, each on its own
database connection, on PostgreSQL only (SQLite serialises writers, so it proves nothing)."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connection

POSTGRES_ONLY = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not getattr(settings, "IS_POSTGRES", False),
        reason="concurrency is tested on PostgreSQL (SQLite serialises writers, so it proves nothing)",
    ),
]


def run_together(calls: list, *, timeout: float = 120) -> list:
    """Run every call in its own thread, all released at once; each result is the call's
    return value or the exception it raised. Each thread closes its own connection."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - surfaced by the test's asserts
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results
