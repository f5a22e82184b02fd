"""Store spaces in the browser and through the partner API: pages by role, booking from
the floor, the member page's timeline, the occupancy and utilisation endpoints."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import make_partner
from members.models import Tier
from members.tests.factories import MemberFactory
from retail.models import Space, SpaceBooking, SpaceRule, SpaceUse
from retail.spaces import selectors, services
from retail.tests.factories import SpaceFactory, StoreFactory

pytestmark = pytest.mark.django_db

TZ = timezone.get_default_timezone()


def local(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hh, mm)), TZ)


def tomorrow() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=1)


@pytest.fixture
def gold(brand):
    return Tier.objects.create(brand=brand, code="gold", name="Gold", threshold_points=1000, rank=2)


@pytest.fixture
def silver(brand):
    return Tier.objects.create(brand=brand, code="silver", name="Silver", threshold_points=100, rank=1)


@pytest.fixture
def room(store):
    return services.create_space(
        store=store,
        kind="fitting_room",
        name="Fitting room 1",
        capacity=2,
        opens_at=dt.time(10),
        closes_at=dt.time(22),
    )


@pytest.fixture
def gold_rule(room, gold):
    return services.create_rule(
        space=room,
        name="Gold fitting room",
        tier=gold,
        starts_at=local(tomorrow(), 10),
        ends_at=local(tomorrow(), 22),
        slot_minutes=30,
    )


# --- pages --------------------------------------------------------------------------------------


def test_a_manager_registers_a_space_in_their_store(client, manager_user, store):
    client.force_login(manager_user)
    assert client.get(reverse("retail:spaces:space_new")).status_code == 200
    response = client.post(
        reverse("retail:spaces:space_new"),
        {
            "store": store.pk,
            "kind": "vip_lounge",
            "name": "VIP lounge",
            "location": "2F",
            "capacity": 6,
            "opens_at": "10:00",
            "closes_at": "22:00",
            "tags": "vip, quiet",
        },
    )
    space = Space.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "retail:spaces:space_detail", kwargs={"space_id": space.pk}
    )
    assert space.tags == ["vip", "quiet"] and space.opens_at == dt.time(10)
    # a duplicate name is a form error and changes nothing
    again = client.post(
        reverse("retail:spaces:space_new"),
        {"store": store.pk, "kind": "vip_lounge", "name": "VIP lounge", "capacity": 1},
    )
    assert again.status_code == 400 and "Already used in this store." in again.content.decode()
    assert Space.objects.count() == 1


def test_a_manager_cannot_register_a_space_in_another_store(client, manager_user, brand):
    other = StoreFactory(brand=brand)
    client.force_login(manager_user)
    response = client.post(
        reverse("retail:spaces:space_new"), {"store": other.pk, "kind": "other", "name": "X", "capacity": 1}
    )
    assert response.status_code == 400  # not among the form's choices
    assert not Space.objects.exists()


def test_a_guide_sees_spaces_but_cannot_change_them(client, guide_user, room):
    client.force_login(guide_user)
    listing = client.get(reverse("retail:spaces:space_list"))
    assert listing.status_code == 200 and "Fitting room 1" in listing.content.decode()
    assert client.get(reverse("retail:spaces:space_new")).status_code == 403
    assert client.get(reverse("retail:spaces:space_edit", kwargs={"space_id": room.pk})).status_code == 403
    assert client.get(reverse("retail:spaces:rule_new", kwargs={"space_id": room.pk})).status_code == 403
    assert (
        client.post(reverse("retail:spaces:space_deactivate", kwargs={"space_id": room.pk})).status_code
        == 403
    )
    room.refresh_from_db()
    assert room.is_active


def test_hq_filters_the_list_by_store(client, hq_user, brand, room):
    other = SpaceFactory(brand=brand, name="Lounge elsewhere")
    client.force_login(hq_user)
    body = client.get(reverse("retail:spaces:space_list")).content.decode()
    assert "Fitting room 1" in body and "Lounge elsewhere" in body
    body = client.get(reverse("retail:spaces:space_list"), {"store": other.store_id}).content.decode()
    assert "Fitting room 1" not in body and "Lounge elsewhere" in body


def test_staff_check_in_and_out_from_the_space_page(client, guide_user, room):
    client.force_login(guide_user)
    detail = reverse("retail:spaces:space_detail", kwargs={"space_id": room.pk})
    client.post(reverse("retail:spaces:space_check_in", kwargs={"space_id": room.pk}), {"people": 2})
    use = SpaceUse.objects.get(space=room)
    assert use.people == 2 and use.staff == guide_user and use.ended_at is None
    page = client.get(detail)
    assert page.status_code == 200 and f'data-use-id="{use.pk}"' in page.content.decode()
    # over capacity: refused with the reason, nothing added
    refused = client.post(
        reverse("retail:spaces:space_check_in", kwargs={"space_id": room.pk}), {"people": 1}, follow=True
    )
    assert "holds 2 people" in refused.content.decode()
    assert SpaceUse.objects.count() == 1
    out = reverse("retail:spaces:space_check_out", kwargs={"space_id": room.pk})
    client.post(out, {"use": use.pk})
    use.refresh_from_db()
    assert use.ended_at is not None
    twice = client.post(out, {"use": use.pk}, follow=True)
    assert "already checked out" in twice.content.decode()


def test_the_space_page_shows_utilisation_and_rules(
    client, manager_user, room, gold_rule, django_assert_max_num_queries
):
    client.force_login(manager_user)
    with django_assert_max_num_queries(20):
        response = client.get(reverse("retail:spaces:space_detail", kwargs={"space_id": room.pk}))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-chart="space-utilisation"' in body and "space-utilisation-data" in body
    assert "Gold fitting room" in body and "Gold and above" in body


def test_a_manager_adds_a_rule_and_a_bad_window_is_a_form_error(client, manager_user, room, gold):
    client.force_login(manager_user)
    url = reverse("retail:spaces:rule_new", kwargs={"space_id": room.pk})
    day = tomorrow().isoformat()
    bad = client.post(
        url,
        {
            "name": "Backwards",
            "tier": gold.pk,
            "starts_at": f"{day}T18:00",
            "ends_at": f"{day}T10:00",
            "slot_minutes": 30,
        },
    )
    assert bad.status_code == 400 and "must end after it starts" in bad.content.decode()
    ok = client.post(
        url,
        {
            "name": "Gold",
            "tier": gold.pk,
            "starts_at": f"{day}T10:00",
            "ends_at": f"{day}T18:00",
            "slot_minutes": 30,
        },
    )
    assert ok.status_code == 302
    rule = SpaceRule.objects.get()
    assert rule.tier == gold and timezone.localtime(rule.starts_at).hour == 10


def test_a_guide_books_their_member_and_cancels(client, guide_user, store, room, gold_rule, gold):
    member = MemberFactory(brand=store.brand, store=store, guide=guide_user, tier=gold, phone="13900001111")
    client.force_login(guide_user)
    url = reverse("retail:spaces:booking_page", kwargs={"space_id": room.pk})
    page = client.get(url, {"day": tomorrow().isoformat()})
    body = page.content.decode()
    assert page.status_code == 200 and body.count('name="slot"') == 24 and "Exclusive spaces" in body
    slot = local(tomorrow(), 14)
    response = client.post(url, {"phone": "139 0000 1111", "slot": slot.isoformat()}, follow=True)
    booking = SpaceBooking.objects.get()
    assert booking.member == member and booking.booked_by == guide_user and booking.slot_start == slot
    assert "139****1111" in response.content.decode()
    client.post(reverse("retail:spaces:booking_cancel", kwargs={"booking_id": booking.pk}))
    booking.refresh_from_db()
    assert booking.status == "cancelled"


def test_a_guide_cannot_book_another_guides_member(client, guide_user, store, room, gold_rule, gold):
    MemberFactory(brand=store.brand, store=store, tier=gold, phone="13900002222")
    client.force_login(guide_user)
    url = reverse("retail:spaces:booking_page", kwargs={"space_id": room.pk})
    response = client.post(url, {"phone": "13900002222", "slot": local(tomorrow(), 14).isoformat()})
    assert (
        response.status_code == 400
        and "No member of yours has this phone number" in response.content.decode()
    )
    assert not SpaceBooking.objects.exists()


def test_the_booking_page_says_why_a_silver_member_is_refused(
    client, manager_user, store, room, gold_rule, silver
):
    MemberFactory(brand=store.brand, store=store, tier=silver, phone="13900003333", name="王小明")
    client.force_login(manager_user)
    url = reverse("retail:spaces:booking_page", kwargs={"space_id": room.pk})
    response = client.post(url, {"phone": "13900003333", "slot": local(tomorrow(), 14).isoformat()})
    assert response.status_code == 400
    assert "This slot is for Gold members and above; 王**&#x27;s tier is Silver." in response.content.decode()
    assert not SpaceBooking.objects.exists()


def test_the_member_page_timeline_shows_the_booking(client, hq_user, store, room, gold_rule, gold):
    member = MemberFactory(brand=store.brand, store=store, tier=gold)
    services.book(space=room, member=member, slot_start=local(tomorrow(), 15))
    client.force_login(hq_user)
    body = client.get(reverse("members:member_detail", kwargs={"member_id": member.pk})).content.decode()
    assert "timeline-space_booking" in body
    assert f"Booked Fitting room 1 · {tomorrow().isoformat()} 15:00–15:30" in body
    assert "Gold members and above" in body


def test_another_brands_space_is_a_404(client, hq_user, other_brand):
    theirs = SpaceFactory(brand=other_brand)
    client.force_login(hq_user)
    for name in ("space_detail", "space_edit", "rule_new", "booking_page"):
        assert client.get(reverse(f"retail:spaces:{name}", kwargs={"space_id": theirs.pk})).status_code == 404
    assert (
        client.post(
            reverse("retail:spaces:space_check_in", kwargs={"space_id": theirs.pk}), {"people": 1}
        ).status_code
        == 404
    )
    assert not SpaceUse.objects.exists()


def test_the_pages_render_in_chinese(client, manager_user, room, gold_rule):
    client.force_login(manager_user)
    client.cookies["django_language"] = "zh-hans"
    for url in (
        reverse("retail:spaces:space_list"),
        reverse("retail:spaces:space_detail", kwargs={"space_id": room.pk}),
        reverse("retail:spaces:booking_page", kwargs={"space_id": room.pk}),
    ):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert response.status_code == 200


# --- API ----------------------------------------------------------------------------------------


def test_the_api_lists_and_reads_spaces_with_stores_read(brand, room, other_brand):
    SpaceFactory(brand=other_brand)
    partner = make_partner(brand, ["stores:read"])
    listing = partner.get("/api/v1/spaces/", {"store": room.store_id})
    assert listing.status_code == 200
    assert [row["id"] for row in listing.json()["results"]] == [room.pk]
    one = partner.get(f"/api/v1/spaces/{room.pk}/")
    assert one.status_code == 200 and one.json()["name"] == "Fitting room 1" and one.json()["people_now"] == 0
    assert partner.get("/api/v1/spaces/", {"shop": 1}).status_code == 400


def test_occupancy_needs_stores_write_and_opens_and_closes_a_device_use(brand, room):
    url = f"/api/v1/spaces/{room.pk}/occupancy/"
    reader = make_partner(brand, ["stores:read"])
    assert reader.post(url, {"people": 2}, format="json").status_code == 403
    writer = make_partner(brand, ["stores:write", "stores:read"])
    at = (timezone.now() - dt.timedelta(minutes=10)).isoformat()
    opened = writer.post(url, {"people": 2, "at": at, "device": 42}, format="json")
    assert opened.status_code == 200 and opened.json()["use"]["people"] == 2
    assert writer.get(f"/api/v1/spaces/{room.pk}/").json()["people_now"] == 2
    closed = writer.post(url, {"people": 0, "device": 42}, format="json")
    assert closed.status_code == 200 and closed.json()["use"]["ended_at"]
    bad = writer.post(url, {"people": -1}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"
    assert writer.post(url, {"people": 1, "colour": "red"}, format="json").status_code == 400
    assert SpaceUse.objects.filter(space=room).count() == 1


def test_utilisation_endpoint(brand, room):
    partner = make_partner(brand, ["stores:read"])
    day = timezone.localdate() - dt.timedelta(days=1)
    SpaceUse.objects.create(
        brand=brand, store=room.store, space=room, started_at=local(day, 10), ended_at=local(day, 10, 30)
    )
    response = partner.get(
        f"/api/v1/spaces/{room.pk}/utilisation/", {"from": day.isoformat(), "to": day.isoformat()}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["hours"][10] == {"hour": 10, "open_minutes": 60.0, "used_minutes": 30.0, "rate": 0.5}
    assert body["open_minutes"] == 720.0
    assert partner.get(f"/api/v1/spaces/{room.pk}/utilisation/", {"from": "yesterday"}).status_code == 400
    assert (
        partner.get(
            f"/api/v1/spaces/{room.pk}/utilisation/", {"from": "2026-01-02", "to": "2026-01-01"}
        ).status_code
        == 400
    )


def test_another_brands_space_is_a_404_in_the_api(brand, other_brand):
    theirs = SpaceFactory(brand=other_brand)
    partner = make_partner(brand)
    assert partner.get(f"/api/v1/spaces/{theirs.pk}/").status_code == 404
    assert (
        partner.post(f"/api/v1/spaces/{theirs.pk}/occupancy/", {"people": 1}, format="json").status_code
        == 404
    )
    assert partner.get(f"/api/v1/spaces/{theirs.pk}/utilisation/").status_code == 404
    assert not SpaceUse.objects.exists()


def test_a_manager_edits_a_space_and_puts_it_back_in_use(client, manager_user, room):
    services.deactivate_space(space=room)
    client.force_login(manager_user)
    url = reverse("retail:spaces:space_edit", kwargs={"space_id": room.pk})
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "kind": "fitting_room",
            "name": "Fitting room 1",
            "capacity": 3,
            "opens_at": "09:00",
            "closes_at": "21:00",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    room.refresh_from_db()
    assert room.is_active and room.capacity == 3 and room.opens_at == dt.time(9)
    bad = client.post(
        url,
        {
            "kind": "fitting_room",
            "name": "Fitting room 1",
            "capacity": 3,
            "opens_at": "21:00",
            "closes_at": "09:00",
        },
    )
    assert bad.status_code == 400 and "must close after it opens" in bad.content.decode()
    room.refresh_from_db()
    assert room.opens_at == dt.time(9) and room.is_active


def test_list_and_booking_pages_and_the_api_list_keep_a_fixed_number_of_queries(
    client, hq_user, brand, store, room, gold_rule, gold, django_assert_max_num_queries
):
    def grow():
        space = SpaceFactory(brand=brand, store=store, name=f"Lounge {Space.objects.count()}")
        services.check_in(space=space, people=1)
        member = MemberFactory(brand=brand, store=store, tier=gold)
        free = next(s for s in selectors.slots(space=room, day=tomorrow()) if s.booking is None)
        services.book(space=room, member=member, slot_start=free.start)

    client.force_login(hq_user)
    partner = make_partner(brand, ["stores:read"])
    booking_url = reverse("retail:spaces:booking_page", kwargs={"space_id": room.pk})
    counts = []
    for _ in range(3):  # the first round also records the token's first use
        for _ in range(3):
            grow()
        with django_assert_max_num_queries(40) as ctx:
            client.get(reverse("retail:spaces:space_list"))
            client.get(booking_url, {"day": tomorrow().isoformat()})
            partner.get("/api/v1/spaces/")
        counts.append(len(ctx.captured_queries))
    assert counts[1] == counts[2], counts
