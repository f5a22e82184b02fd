"""Shared pytest fixtures: brands A and B, people in each role, partner API clients."""

import pytest
from rest_framework.test import APIClient

from retail.celery import app as celery_app
from retail.choices import Role
from retail.tests.factories import BrandFactory, StaffRoleFactory, StoreFactory, UserFactory, api_token


@pytest.fixture(autouse=True, scope="session")
def _celery_eager():
    # Tests run tasks in-process even where REDIS_URL points Celery at a broker.
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True


@pytest.fixture(autouse=True)
def _jobs_inline(settings):
    # Long jobs (retail.jobs.enqueue_job) run right after commit, so a test sees them finished.
    settings.JOBS_INLINE = True


@pytest.fixture(autouse=True)
def _default_language():
    # A page test in Chinese leaves zh-hans active in its thread; services that word a
    # stored message (a job's error) must not inherit it in the next test.
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters and other cached state must not leak from one test to the next.
    # On Redis only this worker's keys go (FLUSHDB would wipe the other xdist workers').
    from django.conf import settings
    from django.core.cache import cache

    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    if prefix and hasattr(cache, "_cache") and hasattr(cache._cache, "get_client"):
        client = cache._cache.get_client(write=True)
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()
    from shelves.services.scans import forget_local

    forget_local()  # the scan page's per-process copies of cache entries
    yield


@pytest.fixture(autouse=True)
def _no_buffered_request_log():
    # The partner-API request log buffers rows per process: one test's never reach the next.
    from retail import requestlog

    requestlog.discard()
    yield
    requestlog.discard()


@pytest.fixture
def brand(db):
    return BrandFactory(name="Brand A", slug="brand-a")


@pytest.fixture
def other_brand(db):
    return BrandFactory(name="Brand B", slug="brand-b")


@pytest.fixture
def store(brand):
    return StoreFactory(brand=brand)


@pytest.fixture
def hq_user(brand):
    return StaffRoleFactory(user=UserFactory(username="hq-a"), brand=brand, role=Role.HQ_ADMIN).user


@pytest.fixture
def manager_user(store):
    return StaffRoleFactory(
        user=UserFactory(username="manager-a"), brand=store.brand, store=store, role=Role.STORE_MANAGER
    ).user


@pytest.fixture
def guide_user(store):
    return StaffRoleFactory(
        user=UserFactory(username="guide-a"), brand=store.brand, store=store, role=Role.GUIDE
    ).user


@pytest.fixture
def partner(brand):
    """A DRF test client authenticated with a token of brand A holding every scope."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token(brand)}")
    return client


def make_partner(brand, scopes=None, **kwargs) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token(brand, scopes, **kwargs)}")
    return client


@pytest.fixture
def receiver():
    """A webhook receiver on loopback (retail.tests.receiver.Receiver), stopped afterwards."""
    from retail.tests.receiver import Receiver

    found = Receiver()
    yield found
    try:
        found.stop()
    except Exception:  # a test may have stopped it already
        pass
