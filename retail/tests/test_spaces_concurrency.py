"""Two guides booking the same slot at the same moment: exactly one succeeds. Threads with
their own PostgreSQL connections, released together; SQLite serialises writers, so this
runs on PostgreSQL only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from members.models import Tier
from members.tests.factories import MemberFactory
from retail.choices import Role
from retail.errors import DomainError
from retail.models import SpaceBooking
from retail.spaces import services
from retail.tests.concurrency import POSTGRES_ONLY, run_together
from retail.tests.factories import StaffRoleFactory, StoreFactory, UserFactory

pytestmark = POSTGRES_ONLY


@pytest.fixture
def setup(brand):
    store = StoreFactory(brand=brand)
    gold = Tier.objects.create(brand=brand, code="gold", name="Gold", threshold_points=1000, rank=2)
    space = services.create_space(store=store, kind="fitting_room", name="Gold room", capacity=1)
    day = timezone.localdate() + dt.timedelta(days=1)
    starts = timezone.make_aware(dt.datetime.combine(day, dt.time(10)))
    services.create_rule(
        space=space, name="Double-11", tier=gold, starts_at=starts, ends_at=starts + dt.timedelta(hours=8)
    )
    return store, gold, space, starts + dt.timedelta(hours=2)


def test_two_guides_booking_the_same_slot_at_once_one_succeeds(brand, setup):
    store, gold, space, slot = setup
    clients, phones = [], []
    for n in range(2):
        guide = StaffRoleFactory(
            user=UserFactory(username=f"guide-{n}"), brand=brand, store=store, role=Role.GUIDE
        ).user
        phone = f"1380000{n:04d}"
        MemberFactory(brand=brand, store=store, guide=guide, tier=gold, phone=phone)
        client = Client()
        client.force_login(guide)
        clients.append(client)
        phones.append(phone)
    url = f"/spaces/{space.pk}/bookings/"
    results = run_together(
        [
            lambda c=c, p=p: c.post(url, {"phone": p, "slot": slot.isoformat()})
            for c, p in zip(clients, phones, strict=True)
        ]
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [302, 400], results
    refused = next(r for r in results if r.status_code == 400)
    assert "Someone else has just booked this slot" in refused.content.decode()
    assert SpaceBooking.objects.filter(space=space, status="booked").count() == 1


def test_many_bookings_of_one_slot_at_once_leave_exactly_one(brand, setup):
    store, gold, space, slot = setup
    members = [MemberFactory(brand=brand, store=store, tier=gold) for _ in range(8)]
    results = run_together(
        [lambda m=m: services.book(space=space, member=m, slot_start=slot) for m in members]
    )
    booked = [r for r in results if isinstance(r, SpaceBooking)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(booked) == 1 and len(refused) == 7, results
    assert {r.code for r in refused} == {"slot_taken"}
    assert SpaceBooking.objects.filter(space=space, status="booked").count() == 1
