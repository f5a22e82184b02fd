"""The member timeline: members' own entries, and entries later apps register."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from members import services, timeline
from members.tests.factories import MemberFactory
from retail.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry():
    """Restore the registry after a test adds providers to it."""
    saved = timeline.providers()
    yield
    timeline._providers.clear()
    timeline._providers.update(saved)


def detail(client, member):
    return client.get(reverse("members:member_detail", kwargs={"member_id": member.pk}))


def test_the_timeline_merges_orders_points_and_consent_newest_first(client, brand, store, hq_user):
    # given a member with an order a day ago, points earned now, consent withdrawn now
    member = MemberFactory(brand=brand, store=store)
    OrderFactory(brand=brand, store=store, member=member, paid_at=timezone.now() - timedelta(days=1))
    services.earn_points(member=member, points=5, reason="welcome")
    services.record_consent(member=member, channel="sms", granted=False, source="store")
    client.force_login(hq_user)
    # when HQ opens the member page
    entries = detail(client, member).context["timeline"]
    # then all three kinds are there, newest first, the order last
    kinds = [e.kind for e in entries]
    assert set(kinds) == {"order", "points", "consent"}
    assert kinds[-1] == "order"
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)


def test_a_later_app_adds_entries_without_members_importing_it(client, brand, store, hq_user, registry):
    # given an app above members registering "interaction" entries (as guides will)
    member = MemberFactory(brand=brand, store=store)
    seen = {}

    def interactions(*, member, principal, limit):
        seen["principal"] = principal
        return [timeline.TimelineEntry(at=timezone.now(), kind="interaction", title="Call answered · 3 min")]

    timeline.register("interaction", interactions)
    client.force_login(hq_user)
    # when the member page is opened
    response = detail(client, member)
    # then the entry shows, and the provider was asked with the viewer's scope
    assert "Call answered · 3 min" in response.content.decode()
    assert seen["principal"].brand_id == brand.pk


def test_a_failing_provider_loses_its_entries_not_the_page(client, brand, store, hq_user, registry):
    member = MemberFactory(brand=brand, store=store)
    OrderFactory(brand=brand, store=store, member=member, external_id="STILL-HERE")

    def broken(*, member, principal, limit):
        raise RuntimeError("coupon service down")

    timeline.register("coupon", broken)
    client.force_login(hq_user)
    response = detail(client, member)
    assert response.status_code == 200
    assert [e.kind for e in response.context["timeline"]] == ["order"]


def test_the_timeline_is_bounded_whatever_the_history(brand, store, hq_user):
    from retail.tenancy import principal_for_role

    member = MemberFactory(brand=brand, store=store)
    for _ in range(8):
        services.earn_points(member=member, points=1)
    entries = timeline.timeline_of(
        member=member, principal=principal_for_role(hq_user.staff_roles.get()), limit=5
    )
    assert len(entries) == 5
