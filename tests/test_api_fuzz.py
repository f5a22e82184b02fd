"""The partner API against a fuzzer: schemathesis generates requests for every operation of
the live OpenAPI schema (valid and invalid bodies, parameters and headers) and sends them
with a valid token holding every scope. No answer may be a 5xx, and every answer must match
the schema (status code documented, body shape, content type).

Deterministic (derandomized) so CI runs the same cases each time; FUZZ_EXAMPLES raises the
number of cases per operation for a longer local hunt:

    FUZZ_EXAMPLES=200 pytest tests/test_api_fuzz.py -n 2
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis import checks

from retail.tests.factories import ProductFactory, StoreFactory, api_token

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler())


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The WSGI handler closes "old" connections around each request; inside the test's
    transaction that must not happen (Django's own test client does the same)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_token(brand):
    # a little data so that list endpoints have something to serialise
    store = StoreFactory(brand=brand)
    ProductFactory(brand=brand)
    assert store.pk
    return api_token(brand)


@pytest.mark.django_db
@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_survives_the_fuzzer(case, fuzz_token):
    # Every check but "a schema-valid request must be accepted": a well-formed request for
    # an id that does not exist, or against a business rule, is rightly a 4xx.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {fuzz_token}"},
        excluded_checks=[checks.positive_data_acceptance],
    )
