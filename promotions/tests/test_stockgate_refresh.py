"""The flash-sale counter in Redis forgets a template whose stock changed behind it (an
offline block taken or returned, HQ changing the stock), so the next claim re-reads it."""

import pytest

from promotions.services import offline, stockgate, templates
from promotions.tests.factories import CouponTemplateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def gate():
    if not stockgate.enabled():
        pytest.skip("the stock gate needs Redis (REDIS_URL); without it claims pass straight through")
    return stockgate


def test_a_block_and_a_stock_change_make_the_gate_re_read(
    brand, store, gate, django_capture_on_commit_callbacks
):
    template = CouponTemplateFactory(brand=brand, total_stock=50)
    assert gate.reset(template) == 50
    with django_capture_on_commit_callbacks(execute=True):
        offline.issue_block(template=template, store=store, holder_id=None, device_label="tablet-a", size=10)
    assert gate.counter(template) is None  # forgotten: the next claim reads 40 from the database
    assert gate.reset(template) == 40
    with django_capture_on_commit_callbacks(execute=True):
        templates.update_template(template=template, total_stock=80)
    assert gate.counter(template) is None
    assert gate.reset(template) == 70
