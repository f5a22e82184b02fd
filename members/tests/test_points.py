"""The points ledger: append-only entries, balance == sum(entries), orders earn once."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from members import services
from members.models import Member, PointsEntry
from members.tests.factories import MemberFactory
from retail import events
from retail.errors import DomainError, InvalidInput
from retail.models import AuditEvent, DomainEvent
from retail.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def assert_balance_is_sum_of_entries(member: Member) -> None:
    member.refresh_from_db()
    total = PointsEntry.objects.filter(member=member).aggregate(s=Sum("points"))["s"] or 0
    assert member.points_balance == total
    last = PointsEntry.objects.filter(member=member).order_by("-id").first()
    assert member.points_balance == (last.balance_after if last else 0)


@pytest.fixture
def member(brand):
    return MemberFactory(brand=brand)


def test_balance_equals_the_sum_of_entries_after_mixed_operations(member):
    # given a member who earns, spends, is adjusted both ways and has points expire
    services.earn_points(member=member, points=500)
    services.spend_points(member=member, points=120, reason="gift")
    services.adjust_points(member=member, points=30, reason="goodwill")
    services.adjust_points(member=member, points=-10, reason="typo fix")
    services.earn_points(member=member, points=45)
    expired = services.expire_points(member=member, points=1000)
    services.earn_points(member=member, points=7)
    # then the balance is the sum of the entries, and each entry recorded the balance it left
    assert_balance_is_sum_of_entries(member)
    assert member.points_balance == 7
    assert expired.points == -(500 - 120 + 30 - 10 + 45)
    # lifetime points count earnings and corrections, not spending or expiry
    assert member.lifetime_points == 500 + 30 - 10 + 45 + 7
    kinds = list(PointsEntry.objects.filter(member=member).order_by("id").values_list("kind", flat=True))
    assert kinds == ["earn", "spend", "adjust", "adjust", "earn", "expire", "earn"]


def test_an_order_earns_floor_of_its_total_once_even_if_the_event_is_delivered_twice(
    brand, member, django_capture_on_commit_callbacks
):
    # given an order of 299.90 CNY for the member, recorded and announced
    order = OrderFactory(brand=brand, member=member, subtotal=Decimal("299.90"), total=Decimal("299.90"))
    with django_capture_on_commit_callbacks(execute=True):
        event = events.publish(
            "order.created", brand=brand.pk, order=order.pk, member=member.pk, total="299.90"
        )
    # when the same event is delivered again (a broker redelivery)
    events.deliver(event)
    events.deliver(event)
    # then the member earned 299 points, once
    entries = PointsEntry.objects.filter(member=member)
    assert [(e.kind, e.points, e.order_id) for e in entries] == [("earn", 299, order.pk)]
    assert_balance_is_sum_of_entries(member)
    assert member.points_balance == 299
    assert DomainEvent.objects.filter(name="member.points_changed").count() == 1


def test_an_order_without_a_member_earns_nothing(brand, member):
    order = OrderFactory(brand=brand, member=None)
    assert services.earn_points_for_order(order_id=order.pk) is None
    assert not PointsEntry.objects.exists()


def test_spending_more_than_the_balance_is_refused_and_writes_nothing(member):
    # given a member with 100 points
    services.earn_points(member=member, points=100)
    entries_before = PointsEntry.objects.count()
    events_before = DomainEvent.objects.count()
    # when they try to spend 101
    with pytest.raises(DomainError) as refused:
        services.spend_points(member=member, points=101)
    # then it is refused with a stable code and nothing changed
    assert refused.value.code == "insufficient_points" and refused.value.status == 409
    assert PointsEntry.objects.count() == entries_before
    assert DomainEvent.objects.count() == events_before
    member.refresh_from_db()
    assert member.points_balance == 100


def test_an_adjustment_needs_a_reason(member):
    with pytest.raises(InvalidInput) as refused:
        services.adjust_points(member=member, points=50, reason="   ")
    assert refused.value.code == "reason_required"
    assert not PointsEntry.objects.exists()
    # and with a reason it is recorded and audited
    entry = services.adjust_points(member=member, points=50, reason="store opening gift")
    assert entry.reason == "store opening gift" and entry.balance_after == 50
    assert AuditEvent.objects.filter(
        object_id=str(member.pk), message__startswith="points adjusted +50"
    ).exists()


def test_points_must_be_positive_whole_numbers(member):
    for bad in (0, -5, 1.5, True, "10"):
        with pytest.raises(InvalidInput):
            services.earn_points(member=member, points=bad)
    assert not PointsEntry.objects.exists()


def test_expiry_never_takes_the_balance_below_zero(member):
    assert services.expire_points(member=member, points=10) is None
    services.earn_points(member=member, points=4)
    entry = services.expire_points(member=member, points=10)
    assert entry.points == -4 and entry.balance_after == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_earns_for_one_member_lose_nothing(brand):
    # given one member and eight workers earning for them at the same moment
    from django.conf import settings

    if not settings.IS_POSTGRES:
        pytest.skip("concurrency is tested on PostgreSQL (SQLite serialises writers)")
    member = MemberFactory(brand=brand)
    orders = [OrderFactory(brand=brand, member=member) for _ in range(8)]
    barrier = threading.Barrier(8)
    errors = []

    def earn(order_id: int) -> None:
        barrier.wait()
        try:
            services.earn_points(member=member, points=10, order_id=order_id)
            services.earn_points(member=member, points=1)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=earn, args=(o.pk,)) for o in orders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then every earn is in the ledger and in the balance
    assert errors == []
    assert PointsEntry.objects.filter(member=member).count() == 16
    assert_balance_is_sum_of_entries(member)
    assert member.points_balance == 8 * 11 and member.lifetime_points == 8 * 11
    balances = sorted(PointsEntry.objects.filter(member=member).values_list("balance_after", flat=True))
    assert len(set(balances)) == 16  # each entry saw the one before it


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_order_earn_once(brand):
    # given one order whose event eight workers deliver at the same moment
    from django.conf import settings

    if not settings.IS_POSTGRES:
        pytest.skip("concurrency is tested on PostgreSQL (SQLite serialises writers)")
    member = MemberFactory(brand=brand)
    order = OrderFactory(brand=brand, member=member, total=Decimal("88.80"))
    barrier = threading.Barrier(8)
    entries = []

    def deliver() -> None:
        barrier.wait()
        try:
            entries.append(services.earn_points_for_order(order_id=order.pk).pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then the order earned once and every delivery saw that one entry
    assert len(entries) == 8 and len(set(entries)) == 1
    assert_balance_is_sum_of_entries(member)
    assert member.points_balance == 88


# --- the API --------------------------------------------------------------------------------


def test_partner_reads_the_ledger_newest_first_with_a_cursor(partner, member):
    for points in (10, 20, 30):
        services.earn_points(member=member, points=points)
    first = partner.get(f"/api/v1/members/{member.pk}/points/?page_size=2")
    assert first.status_code == 200, first.json()
    body = first.json()
    assert [e["points"] for e in body["results"]] == [30, 20]
    assert body["results"][0]["balance_after"] == 60 and body["results"][0]["kind"] == "earn"
    rest = partner.get(body["next"])
    assert [e["points"] for e in rest.json()["results"]] == [10] and rest.json()["next"] is None


def test_partner_adjusts_points_with_a_reason(partner, member):
    response = partner.post(
        f"/api/v1/members/{member.pk}/points/", {"points": 25, "reason": "complaint"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["points"] == 25 and response.json()["kind"] == "adjust"
    member.refresh_from_db()
    assert member.points_balance == 25
    shown = partner.get(f"/api/v1/members/{member.pk}/").json()
    assert shown["points_balance"] == 25 and shown["lifetime_points"] == 25 and shown["tier"] is None


@pytest.mark.parametrize(
    "body, field",
    [
        ({"points": 5}, "reason"),
        ({"points": 5, "reason": ""}, "reason"),
        ({"points": 0, "reason": "x"}, "points"),
        ({"points": "lots", "reason": "x"}, "points"),
        ({"points": 5, "reason": "x", "kind": "earn"}, "kind"),
    ],
)
def test_bad_adjustments_are_400_in_the_error_shape_and_change_nothing(partner, member, body, field):
    response = partner.post(f"/api/v1/members/{member.pk}/points/", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"} and field in error["fields"]
    assert not PointsEntry.objects.exists()


def test_adjusting_below_zero_is_409_insufficient_points(partner, member):
    response = partner.post(
        f"/api/v1/members/{member.pk}/points/", {"points": -1, "reason": "x"}, format="json"
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "insufficient_points"
    assert not PointsEntry.objects.exists()


def test_another_brands_member_points_are_404(partner, other_brand):
    theirs = MemberFactory(brand=other_brand)
    services.earn_points(member=theirs, points=10)
    assert partner.get(f"/api/v1/members/{theirs.pk}/points/").status_code == 404
    posted = partner.post(f"/api/v1/members/{theirs.pk}/points/", {"points": 5, "reason": "x"}, format="json")
    assert posted.status_code == 404 and posted.json()["error"]["code"] == "not_found"
    assert PointsEntry.objects.filter(member=theirs).count() == 1


def test_adjusting_needs_the_members_write_scope(brand, member):
    from conftest import make_partner

    reader = make_partner(brand, scopes=["members:read"])
    assert reader.get(f"/api/v1/members/{member.pk}/points/").status_code == 200
    response = reader.post(
        f"/api/v1/members/{member.pk}/points/", {"points": 5, "reason": "x"}, format="json"
    )
    assert response.status_code == 403 and not PointsEntry.objects.exists()


def test_the_ledger_page_takes_a_constant_number_of_queries(partner, member, django_assert_max_num_queries):
    for points in range(1, 30):
        services.earn_points(member=member, points=points)
    with django_assert_max_num_queries(8):
        response = partner.get(f"/api/v1/members/{member.pk}/points/")
    assert len(response.json()["results"]) == 29


def test_partner_redeems_points_with_a_spend(partner, member):
    # given a member with 100 points
    services.earn_points(member=member, points=100)
    # when the POS redeems 30 of them through the API
    response = partner.post(
        f"/api/v1/members/{member.pk}/points/",
        {"kind": "spend", "points": 30, "reason": "gift"},
        format="json",
    )
    # then a spend entry of -30 is in the ledger and the balance is 70; lifetime points stay
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "spend" and response.json()["points"] == -30
    member.refresh_from_db()
    assert (member.points_balance, member.lifetime_points) == (70, 100)
    assert_balance_is_sum_of_entries(member)


def test_a_spend_beyond_the_balance_is_409_and_writes_nothing(partner, member):
    services.earn_points(member=member, points=10)
    response = partner.post(
        f"/api/v1/members/{member.pk}/points/", {"kind": "spend", "points": 11}, format="json"
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "insufficient_points"
    assert PointsEntry.objects.filter(member=member).count() == 1


def test_a_negative_spend_is_400(partner, member):
    services.earn_points(member=member, points=10)
    response = partner.post(
        f"/api/v1/members/{member.pk}/points/", {"kind": "spend", "points": -5}, format="json"
    )
    assert response.status_code == 400 and "points" in response.json()["error"]["fields"]
