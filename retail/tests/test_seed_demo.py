"""`manage.py seed_demo`: sizes, isolation, PII at rest, idempotency and --reset."""

from __future__ import annotations

import re
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, F, Max, Min, Q, Sum
from django.test import Client
from rest_framework.test import APIClient

from members import pii
from members.models import Member
from members.selectors import member_by_phone
from members.services import join_member
from retail import demo, services
from retail.choices import Channel, Role
from retail.models import (
    ApiToken,
    AuditEvent,
    Brand,
    DomainEvent,
    Order,
    OrderLine,
    Product,
    StaffRole,
    Store,
)

pytestmark = pytest.mark.django_db

SMALL = {"members": 50, "orders": 100}
TOKEN = re.compile(r"partner token:\s+(tdk_\S+)")


@pytest.fixture(autouse=True)
def credentials_file(tmp_path, monkeypatch):
    """Keep the clear demo tokens of the tests away from the developer's var/."""
    path = tmp_path / "demo_credentials.json"
    monkeypatch.setattr(demo, "CREDENTIALS_FILE", path)
    return path


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", **{**SMALL, **options}, stdout=out)
    return out.getvalue()


def demo_brands() -> list[Brand]:
    return list(Brand.objects.filter(slug__in=[s.slug for s in demo.DEMO_BRANDS]).order_by("slug"))


def test_seed_creates_two_brands_of_the_requested_size():
    # when the demo is seeded small
    seed()
    # then each brand has its stores, staff in every role, catalog, members and orders
    brands = demo_brands()
    assert len(brands) == 2
    for brand in brands:
        assert Store.objects.filter(brand=brand).count() == 5
        assert Product.objects.filter(brand=brand).count() == demo.PRODUCTS_PER_BRAND
        assert Member.objects.filter(brand=brand).count() == 50
        assert Order.objects.filter(brand=brand).count() == 100
        roles = dict(StaffRole.objects.filter(brand=brand).values_list("role").annotate(n=Count("id")))
        assert roles == {Role.HQ_ADMIN: 1, Role.STORE_MANAGER: 5, Role.GUIDE: 15}
        per_order = Order.objects.filter(brand=brand).annotate(n=Count("lines")).values_list("n", flat=True)
        assert set(per_order) <= {1, 2, 3, 4}
        assert {o.channel for o in Order.objects.filter(brand=brand)} <= set(Channel.values)
    assert get_user_model().objects.get(username=demo.ADMIN_USERNAME).is_superuser


def test_seeded_rows_never_point_at_the_other_brand():
    seed()
    for brand in demo_brands():
        orders = Order.objects.filter(brand=brand)
        assert not orders.exclude(store__isnull=True).exclude(store__brand=brand).exists()
        assert not orders.exclude(member__isnull=True).exclude(member__brand=brand).exists()
        assert not orders.exclude(guide__isnull=True).exclude(guide__staff_roles__brand=brand).exists()
        assert not OrderLine.objects.filter(order__brand=brand).exclude(brand=brand).exists()
        assert not OrderLine.objects.filter(brand=brand).exclude(product__brand=brand).exists()
        members = Member.objects.filter(brand=brand)
        assert not members.exclude(store__isnull=True).exclude(store__brand=brand).exists()
        assert not members.exclude(guide__isnull=True).exclude(guide__staff_roles__store=F("store")).exists()


def test_each_brands_partner_token_sees_only_its_brand():
    # given the printed tokens
    tokens = TOKEN.findall(seed())
    assert len(tokens) == 2
    for brand, token in zip(demo_brands(), sorted(tokens, key=_token_brand), strict=True):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        # then the token answers for its own brand, and lists only that brand's orders
        assert client.get("/api/v1/ping/").json()["brand"] == brand.pk
        listed = client.get("/api/v1/orders/").json()
        ids = [o["id"] for o in listed.get("results", listed)]
        assert ids and set(Order.objects.filter(pk__in=ids).values_list("brand_id", flat=True)) == {brand.pk}


def test_no_phone_number_or_name_is_stored_in_clear():
    seed()
    for spec in demo.DEMO_BRANDS:
        brand = Brand.objects.get(slug=spec.slug)
        phones = {demo.demo_phone(spec, i) for i in range(50)}
        # the database holds ciphertext, a blind index and a masked number only
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {Member._meta.db_table} WHERE brand_id = %s", [brand.pk])
            dump = " ".join(str(v) for row in cursor.fetchall() for v in row)
        assert not any(phone in dump for phone in phones)
        assert not any(phone[3:] in dump for phone in phones)  # not even the 8 digits
        # and yet each number decrypts and is found by exact lookup
        member = member_by_phone(brand_id=brand.pk, phone=demo.demo_phone(spec, 7))
        assert member is not None and member.phone_masked.startswith(spec.phone_prefix)
        assert pii.decrypt(member.phone_encrypted) == demo.demo_phone(spec, 7)
        assert pii.decrypt(member.name_encrypted)[0] == member.name_masked[0]


def test_totals_add_up_and_orders_fall_in_the_last_30_days():
    seed()
    orders = Order.objects.annotate(lines_total=Sum("lines__line_total"))
    for order in orders:
        assert order.subtotal == order.lines_total
        assert order.total == order.subtotal - order.discount_total >= Decimal("0")
    span = Order.objects.aggregate(first=Min("paid_at"), last=Max("paid_at"))
    assert (span["last"] - span["first"]).days <= demo.ORDER_DAYS
    assert not OrderLine.objects.exclude(line_total=F("unit_price") * F("quantity")).exists()


def test_the_seed_writes_no_domain_events_or_audit_rows_per_row():
    seed()
    assert not DomainEvent.objects.filter(name__in=["order.created", "member.joined"]).exists()
    assert AuditEvent.objects.filter(object_type__in=["retail.order", "members.member"]).count() == 0


def test_second_run_adds_nothing_and_prints_the_same_logins_and_tokens():
    # given a seeded demo
    first = seed()
    counts = _counts()
    # when it runs again (even asking for other sizes)
    second = seed(members=80, orders=150)
    # then nothing was added and the same tokens are printed
    assert _counts() == counts
    assert TOKEN.findall(second) == TOKEN.findall(first)
    assert "reused" in second and "yunshang-hq" in second and demo.DEMO_PASSWORD in second


def test_second_run_without_the_credentials_file_issues_a_fresh_token_and_says_so(credentials_file):
    first = TOKEN.findall(seed())
    credentials_file.unlink()
    output = seed()
    again = TOKEN.findall(output)
    assert len(again) == 2 and not set(again) & set(first)
    assert "fresh demo token" in output
    assert TOKEN.findall(seed()) == again  # and that one is kept from now on


def test_each_brand_has_a_partner_login_that_lands_on_its_console():
    output = seed()
    for brand in demo_brands():
        username = f"{brand.slug}-partner"
        assert f"partner login:   {username}" in output
        web = Client()
        assert web.login(username=username, password=demo.DEMO_PASSWORD)
        console = web.get("/", follow=True)
        assert console.status_code == 200 and demo.DEMO_CLIENT_NAME in console.content.decode()
        assert web.get("/stores/").status_code == 403  # a partner's login sees nothing else
    # a second run reuses them
    assert get_user_model().objects.filter(username__endswith="-partner").count() == 2
    seed()
    assert get_user_model().objects.filter(username__endswith="-partner").count() == 2


def test_reset_wipes_and_reseeds_the_demo_brands_only():
    # given a seeded demo and a brand of someone else
    seed()
    other = services.create_brand(name="Someone else", slug="someone-else")
    old_ids = {b.pk for b in demo_brands()}
    users = get_user_model().objects.count()
    # when it is reset with other sizes
    output = seed(members=20, orders=30, reset=True)
    # then the demo brands are new, with the new sizes, and nothing is duplicated
    brands = demo_brands()
    assert len(brands) == 2 and not {b.pk for b in brands} & old_ids
    for brand in brands:
        assert Member.objects.filter(brand=brand).count() == 20
        assert Order.objects.filter(brand=brand).count() == 30
    assert Member.objects.count() == 40 and Order.objects.count() == 60
    assert get_user_model().objects.count() == users
    assert Brand.objects.filter(pk=other.pk).exists()
    assert len(TOKEN.findall(output)) == 2


def test_ids_continue_after_the_seed_for_new_orders_and_members():
    # given a seeded demo (ids written by the seed, sequences moved past them)
    seed()
    brand = demo_brands()[0]
    product = Product.objects.filter(brand=brand).first()
    # when a partner records an order and a member joins through the services
    order = services.record_order(
        brand=brand,
        external_id="AFTER-SEED-1",
        channel=Channel.ONLINE,
        lines=[{"product": product, "quantity": 1}],
    )
    member = join_member(brand_id=brand.pk, phone="13700001111", name="新会员")
    # then they get fresh ids and numbers
    assert order.pk > Order.objects.exclude(pk=order.pk).order_by("-pk").first().pk
    assert member.member_no == "M00000051"
    assert Member.objects.filter(brand=brand).filter(Q(member_no="M00000051")).count() == 1


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Brand, Store, StaffRole, Product, Member, Order, OrderLine, get_user_model())
    }


def _token_brand(token: str) -> str:
    return ApiToken.objects.get(prefix=token.split("_")[1]).client.brand.slug


def test_seeded_members_are_found_by_name_through_the_blind_index():
    seed()
    brand = demo_brands()[0]
    member = Member.objects.filter(brand=brand).order_by("pk").first()
    name = pii.decrypt(member.name_encrypted)
    assert member.name_hash == pii.name_index(name) != ""


def test_reset_also_wipes_the_members_tags_points_profiles_and_segments():
    # given a seeded demo whose members have points, consent history, tags, a profile and a segment
    from members import services as member_services
    from members.models import MemberProfile, MemberTag, PointsEntry, Segment, SegmentMember, Tag

    seed()
    brand = demo_brands()[0]
    member = Member.objects.filter(brand=brand).first()
    member_services.earn_points(member=member, points=20)
    member_services.record_consent(member=member, channel="sms", granted=False, source="store")
    tag = Tag.objects.create(brand=brand, name="VIP")
    MemberTag.objects.create(brand=brand, member=member, tag=tag)
    assert MemberProfile.objects.filter(brand=brand).exists()  # computed by the seed
    segment = Segment.objects.create(brand=brand, name="all", rules={})
    SegmentMember.objects.create(brand=brand, segment=segment, member=member)
    # when the demo is reset
    seed(reset=True)
    # then nothing of the old brand is left, and the new brands are complete
    for model in (PointsEntry, MemberTag, Tag, MemberProfile, Segment, SegmentMember):
        assert not model.objects.filter(brand=brand).exists(), model
    assert len(demo_brands()) == 2


def test_the_demo_has_tiers_points_from_its_orders_and_computed_profiles():
    # given a freshly seeded demo
    from django.db.models import Sum

    from members.models import MemberProfile, PointsEntry, Tier

    seed()
    brand = demo_brands()[0]
    # then it has the four tiers, and every member's balance is the sum of their entries
    assert list(Tier.objects.filter(brand=brand).order_by("rank").values_list("code", flat=True)) == [
        "regular",
        "silver",
        "gold",
        "black",
    ]
    for member in Member.objects.filter(brand=brand).select_related("tier"):
        total = PointsEntry.objects.filter(member=member).aggregate(s=Sum("points"))["s"] or 0
        assert member.points_balance == member.lifetime_points == total
        paid = Order.objects.filter(member=member, status="paid").aggregate(s=Sum("total"))["s"] or 0
        assert total == int(paid)  # one point per whole CNY of paid orders
        best = Tier.objects.filter(brand=brand, threshold_points__lte=total).order_by("-rank").first()
        assert member.tier == best
    # and members who bought have a computed profile
    buyers = (
        Order.objects.filter(brand=brand, member__isnull=False, status="paid").values("member").distinct()
    )
    assert MemberProfile.objects.filter(brand=brand).count() == buyers.count() > 0
