"""Conversion attribution: the latest interaction that reached the member inside the brand's
window wins; unanswered calls and notes never count; another brand's interaction never does;
an order converts at most once; refunds never convert; reattribute is idempotent. And the
funnel and a guide's month in numbers."""

import datetime as dt
from decimal import Decimal

import pytest

from guides.choices import InteractionKind, MessageChannel, MessageStatus
from guides.models import Conversion, GuideSettings, Message
from guides.selectors import conversions as selectors
from guides.services import conversions as services
from guides.tests.factories import CallPlanFactory, InteractionFactory, TaskFactory, guide_in
from members.tests.factories import MemberFactory
from retail import services as retail_services
from retail.choices import Channel, OrderStatus, Role
from retail.models import DomainEvent, Order
from retail.tenancy import principal_for_role
from retail.tests.factories import BrandFactory, ProductFactory, StaffRoleFactory, StoreFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def guide(store):
    return guide_in(store, username="guide-c1")


@pytest.fixture
def member(store, guide):
    return MemberFactory(brand=store.brand, store=store, guide=guide)


def _call(guide, member, *, at, answered=True, **extra):
    fields = {"brand": member.brand, "store": member.store, **extra}
    return InteractionFactory(
        guide=guide, member=member, kind=InteractionKind.CALL, answered=answered, occurred_at=at, **fields
    )


def _order(member, *, at, total="199.00", external_id=None, store=None, capture=None, **extra):
    product = ProductFactory(brand=member.brand, price=Decimal(total))
    kwargs = {
        "brand": member.brand,
        "external_id": external_id or f"POS-{Order.objects.count() + 1}",
        "channel": Channel.STORE,
        "store": store or member.store,
        "member": member,
        "lines": [{"product": product, "quantity": 1}],
        "paid_at": at,
        **extra,
    }
    if capture is None:
        return retail_services.record_order(**kwargs)
    with capture(execute=True):
        return retail_services.record_order(**kwargs)


def test_the_order_event_attributes_to_the_latest_reaching_interaction_in_the_window(
    guide, member, store, django_capture_on_commit_callbacks
):
    # given: an answered call 6 days before, a visit 2 days before, an unanswered call and a
    # note after the visit, and an answered call 9 days before (outside the 7-day window)
    _call(guide, member, at=NOW - dt.timedelta(days=9))
    _call(guide, member, at=NOW - dt.timedelta(days=6))
    visit = InteractionFactory(
        brand=store.brand,
        store=store,
        guide=guide,
        member=member,
        kind=InteractionKind.VISIT,
        occurred_at=NOW - dt.timedelta(days=2),
    )
    _call(guide, member, at=NOW - dt.timedelta(days=1), answered=False)
    InteractionFactory(
        brand=store.brand,
        store=store,
        guide=guide,
        member=member,
        kind=InteractionKind.NOTE,
        occurred_at=NOW - dt.timedelta(hours=3),
    )
    # when: the member buys
    order = _order(member, at=NOW, total="299.00", capture=django_capture_on_commit_callbacks)
    # then: one conversion, to the visit, for the order's total, and one event
    conversion = Conversion.objects.get()
    assert (conversion.order_id, conversion.interaction_id, conversion.guide_id) == (
        order.pk,
        visit.pk,
        guide.pk,
    )
    assert conversion.amount == Decimal("299.00") and conversion.ordered_at == NOW
    assert DomainEvent.objects.filter(name="guide.conversion").count() == 1


def test_an_unanswered_call_alone_does_not_convert(guide, member, django_capture_on_commit_callbacks):
    _call(guide, member, at=NOW - dt.timedelta(days=1), answered=False)
    _order(member, at=NOW, capture=django_capture_on_commit_callbacks)
    assert not Conversion.objects.exists()


def test_an_interaction_outside_the_brands_window_does_not_convert(guide, member, brand):
    GuideSettings.objects.create(brand=brand, attribution_days=3)
    _call(guide, member, at=NOW - dt.timedelta(days=4))
    order = _order(member, at=NOW)
    assert services.attribute_order(order_id=order.pk) is None
    inside = _call(guide, member, at=NOW - dt.timedelta(days=2, hours=23))
    assert services.attribute_order(order_id=order.pk).interaction_id == inside.pk


def test_an_interaction_after_the_order_does_not_convert(guide, member):
    _call(guide, member, at=NOW + dt.timedelta(minutes=5))
    order = _order(member, at=NOW)
    assert services.attribute_order(order_id=order.pk) is None


def test_a_failed_message_does_not_convert_but_a_sent_one_does(guide, member, store):
    failed = InteractionFactory(
        brand=store.brand,
        store=store,
        guide=guide,
        member=member,
        kind=InteractionKind.MESSAGE,
        occurred_at=NOW - dt.timedelta(hours=1),
    )
    Message.objects.create(
        brand=store.brand,
        store=store,
        guide=guide,
        member=member,
        interaction=failed,
        channel=MessageChannel.SMS,
        body="hi",
        status=MessageStatus.FAILED,
    )
    sent = InteractionFactory(
        brand=store.brand,
        store=store,
        guide=guide,
        member=member,
        kind=InteractionKind.MESSAGE,
        occurred_at=NOW - dt.timedelta(hours=2),
    )
    Message.objects.create(
        brand=store.brand,
        store=store,
        guide=guide,
        member=member,
        interaction=sent,
        channel=MessageChannel.SMS,
        body="hi",
        status=MessageStatus.DELIVERED,
    )
    order = _order(member, at=NOW)
    assert services.attribute_order(order_id=order.pk).interaction_id == sent.pk


def test_another_brands_interaction_never_converts(guide, member, other_brand):
    # an interaction row of another brand that (wrongly) names this member is never used
    other_store = StoreFactory(brand=other_brand)
    _call(guide_in(other_store), member, at=NOW - dt.timedelta(hours=1), brand=other_brand, store=other_store)
    order = _order(member, at=NOW)
    assert services.attribute_order(order_id=order.pk) is None


def test_an_order_converts_at_most_once_when_the_event_is_delivered_twice(guide, member):
    _call(guide, member, at=NOW - dt.timedelta(days=1))
    order = _order(member, at=NOW)
    event = DomainEvent.objects.get(name="order.created")
    from retail.events import Event

    message = Event(event.pk, event.name, event.brand_id, event.store_id, event.payload, event.occurred_at)
    services.on_order_created(message)
    services.on_order_created(message)
    assert Conversion.objects.filter(order=order).count() == 1
    assert DomainEvent.objects.filter(name="guide.conversion").count() == 1
    assert services.attribute_order(order_id=order.pk) is None


def test_a_refunded_order_does_not_convert(guide, member):
    _call(guide, member, at=NOW - dt.timedelta(days=1))
    order = _order(member, at=NOW)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.REFUNDED)
    assert services.attribute_order(order_id=order.pk) is None
    assert not Conversion.objects.exists()


def test_the_conversion_carries_the_interactions_plan(guide, member, store):
    task = TaskFactory(
        brand=store.brand,
        store=store,
        guide=guide,
        member=member,
        plan=CallPlanFactory(brand=store.brand, store=store),
    )
    call = _call(guide, member, at=NOW - dt.timedelta(days=1), task=task, plan=task.plan)
    order = _order(member, at=NOW)
    conversion = services.attribute_order(order_id=order.pk)
    assert conversion.interaction_id == call.pk and conversion.plan_id == task.plan_id


def test_reattribute_recomputes_a_period_and_is_idempotent(guide, member, store, brand):
    # given: two orders recorded before any interaction was synced (offline), one refunded
    kept = _order(member, at=NOW)
    refunded = _order(member, at=NOW - dt.timedelta(hours=2))
    assert not Conversion.objects.exists()
    early = _call(guide, member, at=NOW - dt.timedelta(days=1))
    services.attribute_order(order_id=refunded.pk)
    Order.objects.filter(pk=refunded.pk).update(status=OrderStatus.REFUNDED)
    # when
    first = services.reattribute(
        brand_id=brand.pk, since=NOW - dt.timedelta(days=1), until=NOW + dt.timedelta(1)
    )
    # then: the kept order converts, the refunded one loses its conversion
    assert first["created"] == 1 and first["removed"] == 1
    assert list(Conversion.objects.values_list("order_id", "interaction_id")) == [(kept.pk, early.pk)]
    # a later interaction synced from offline, still before the order, moves it
    later = _call(guide, member, at=NOW - dt.timedelta(hours=1))
    second = services.reattribute(
        brand_id=brand.pk, since=NOW - dt.timedelta(days=1), until=NOW + dt.timedelta(1)
    )
    assert second["moved"] == 1
    assert Conversion.objects.get().interaction_id == later.pk
    third = services.reattribute(
        brand_id=brand.pk, since=NOW - dt.timedelta(days=1), until=NOW + dt.timedelta(1)
    )
    assert third == {"created": 0, "moved": 0, "removed": 0, "unchanged": 1}


def test_the_reattribute_task_runs_the_recompute(guide, member, brand):
    from guides.tasks.conversions import reattribute_task

    order = _order(member, at=NOW)
    _call(guide, member, at=NOW - dt.timedelta(days=1))
    reattribute_task.apply(args=(brand.pk, (NOW - dt.timedelta(days=2)).isoformat()), throw=True)
    assert Conversion.objects.get().order_id == order.pk


# --- the funnel and the month --------------------------------------------------------------


@pytest.fixture
def month_data(store, guide, member):
    """Guide A: 3 calls (2 answered), a visit, a note; one converted call (2 orders); guide
    B in the same store: one answered call, converted. All in November 2026."""
    other = guide_in(store, username="guide-c2")
    other_member = MemberFactory(brand=store.brand, store=store, guide=other)
    answered = _call(guide, member, at=NOW - dt.timedelta(days=3))
    _call(guide, member, at=NOW - dt.timedelta(days=2))
    _call(guide, member, at=NOW - dt.timedelta(days=2), answered=False)
    InteractionFactory(
        brand=store.brand,
        store=store,
        guide=guide,
        member=member,
        kind=InteractionKind.VISIT,
        occurred_at=NOW - dt.timedelta(days=10),
    )
    InteractionFactory(
        brand=store.brand,
        store=store,
        guide=guide,
        member=member,
        kind=InteractionKind.NOTE,
        occurred_at=NOW - dt.timedelta(days=1),
    )
    for total in ("100.00", "50.50"):
        order = _order(member, at=NOW - dt.timedelta(days=2, hours=12), total=total)
        Conversion.objects.create(
            brand=store.brand,
            store=store,
            guide=guide,
            member=member,
            order=order,
            interaction=answered,
            amount=order.total,
            ordered_at=order.paid_at,
        )
    other_call = _call(other, other_member, at=NOW - dt.timedelta(days=1))
    order = _order(other_member, at=NOW, total="20.00")
    Conversion.objects.create(
        brand=store.brand,
        store=store,
        guide=other,
        member=other_member,
        order=order,
        interaction=other_call,
        amount=order.total,
        ordered_at=order.paid_at,
    )
    # and October: never counted in November
    _call(guide, member, at=dt.datetime(2026, 10, 31, 15, 0, tzinfo=dt.UTC))  # 23:00 Shanghai
    return {"other": other}


def _role_principal(user):
    from retail.models import StaffRole

    return principal_for_role(StaffRole.objects.get(user=user))


def test_a_guides_month_in_numbers(guide, month_data, django_assert_max_num_queries):
    principal = _role_principal(guide)
    with django_assert_max_num_queries(3):
        month = selectors.guide_month(principal, guide.pk, dt.date(2026, 11, 1))
    assert (month["calls"], month["answered"], month["answer_rate"]) == (3, 2, 66.7)
    assert (month["interactions"], month["reached"]) == (5, 3)
    assert (month["conversions"], month["sales"]) == (2, Decimal("150.50"))
    october = selectors.guide_month(principal, guide.pk, "2026-10")
    assert (october["calls"], october["answered"], october["conversions"], october["answer_rate"]) == (
        1,
        1,
        0,
        100.0,
    )
    empty = selectors.guide_month(principal, guide.pk, "2026-09")
    assert empty["answer_rate"] is None and empty["sales"] == Decimal("0.00")


def test_a_guide_asking_for_another_guides_month_gets_zeros(guide, month_data):
    month = selectors.guide_month(_role_principal(guide), month_data["other"].pk, "2026-11")
    assert (month["calls"], month["conversions"]) == (0, 0)


def test_the_funnel_per_guide_counts_each_step(
    guide, month_data, store, manager_user, django_assert_num_queries
):
    start, end = selectors.month_bounds("2026-11")
    principal = _role_principal(manager_user)
    with django_assert_num_queries(2):
        rows = selectors.funnel(principal, start=start, end=end, group="guide")
    by_guide = {row["id"]: row for row in rows}
    mine = by_guide[guide.pk]
    assert (mine["interactions"], mine["reached"], mine["converted"], mine["orders"], mine["gmv"]) == (
        5,
        3,
        1,
        2,
        Decimal("150.50"),
    )
    assert mine["label"] == "guide-c1" and mine["conversion_rate"] == 20.0
    theirs = by_guide[month_data["other"].pk]
    assert (theirs["interactions"], theirs["reached"], theirs["converted"], theirs["gmv"]) == (
        1,
        1,
        1,
        Decimal("20.00"),
    )
    total = selectors.funnel_total(rows)
    assert (total["interactions"], total["converted"], total["gmv"]) == (6, 2, Decimal("170.50"))


def test_the_funnel_of_a_guide_is_only_their_own_line(guide, month_data):
    start, end = selectors.month_bounds("2026-11")
    rows = selectors.funnel(_role_principal(guide), start=start, end=end, group="guide")
    assert [row["id"] for row in rows] == [guide.pk]


def test_the_funnel_per_plan_and_per_store(guide, member, store, brand):
    task = TaskFactory(
        brand=brand, store=store, guide=guide, member=member, plan=CallPlanFactory(brand=brand, store=store)
    )
    _call(guide, member, at=NOW - dt.timedelta(days=1), task=task, plan=task.plan)
    _call(guide, member, at=NOW - dt.timedelta(days=1))
    second_store = StoreFactory(brand=brand)
    g2 = guide_in(second_store)
    m2 = MemberFactory(brand=brand, store=second_store, guide=g2)
    _call(g2, m2, at=NOW - dt.timedelta(days=1))
    hq = principal_for_role(StaffRoleFactory(brand=brand, role=Role.HQ_ADMIN))
    start, end = selectors.month_bounds("2026-11")
    plans = {row["id"]: row for row in selectors.funnel(hq, start=start, end=end, group="plan")}
    assert plans[task.plan_id]["interactions"] == 1 and plans[task.plan_id]["label"] == task.plan.name
    assert plans[None]["interactions"] == 2 and str(plans[None]["label"]) == "No plan"
    stores = {
        row["id"]: row["interactions"] for row in selectors.funnel(hq, start=start, end=end, group="store")
    }
    assert stores == {store.pk: 2, second_store.pk: 1}
    # another brand's HQ sees nothing
    other_hq = principal_for_role(StaffRoleFactory(brand=BrandFactory(), role=Role.HQ_ADMIN))
    assert selectors.funnel(other_hq, start=start, end=end, group="store") == []
