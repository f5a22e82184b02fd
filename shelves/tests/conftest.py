import pytest

from shelves import push


@pytest.fixture
def pushed(monkeypatch):
    """Every shelves.push.notify_screens call as (sorted screen ids, reason)."""
    calls: list[tuple[list[int], str]] = []
    monkeypatch.setattr(
        push, "notify_screens", lambda ids, reason="catalog": calls.append((sorted(ids), reason))
    )
    return calls
