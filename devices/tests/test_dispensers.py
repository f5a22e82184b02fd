"""Sample dispensers (派样机): a scan becomes a member and one dispense command per member and
campaign; stock never goes below zero; low stock alerts once per crossing; the device polls
and acknowledges its commands with its own credential."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse

from devices.choices import CommandStatus, DeviceKind, DeviceStatus
from devices.models import Device, DeviceCommand, SampleClaim
from devices.services import dispensers as services
from devices.tests.factories import DeviceFactory, DeviceTypeFactory
from members.choices import ConsentSource, MemberSource
from members.models import ConsentRecord, Member
from members.tests.factories import MemberFactory
from retail.choices import AuditAction, Role
from retail.errors import InvalidInput, NotFound
from retail.models import AuditEvent, DomainEvent
from retail.tests.factories import StaffRoleFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

PHONE = "13800138000"
NO_CONSENT = {"sms": False, "call": False, "chat": False}


@pytest.fixture
def dispenser(brand, store):
    return DeviceFactory(brand=brand, store=store, sample_stock=5, low_stock_threshold=2)


def scan_url(device, campaign="default") -> str:
    return reverse(
        "devices:dispenser_scan", args=[services.dispenser_token(device=device, campaign=campaign)]
    )


def low_stock_events(device):
    return DomainEvent.objects.filter(name="device.low_stock", payload__device=device.pk)


def counts() -> tuple[int, int, int, int]:
    return (
        Member.objects.count(),
        SampleClaim.objects.count(),
        DeviceCommand.objects.count(),
        ConsentRecord.objects.count(),
    )


# --- the service --------------------------------------------------------------------------


def test_a_new_shopper_joins_as_a_dispenser_member_and_a_dispense_command_is_queued(dispenser, store):
    # when a new phone claims a sample, ticking SMS and work chat
    claim = services.claim_sample(
        device=dispenser, phone=PHONE, consents={"sms": True, "call": False, "chat": True}, campaign="spring"
    )
    # then they are a member of the brand, from the dispenser, in its store, with those consents
    member = Member.objects.get()
    assert claim.member == member and claim.device == dispenser and claim.campaign == "spring"
    assert member.brand_id == dispenser.brand_id and member.store == store
    assert member.source == MemberSource.SAMPLE_DISPENSER
    assert (member.consent_sms, member.consent_call, member.consent_chat) == (True, False, True)
    assert set(ConsentRecord.objects.values_list("channel", "granted", "source")) == {
        ("sms", True, ConsentSource.STORE),
        ("chat", True, ConsentSource.STORE),
    }
    assert member.phone_masked == "138****8000"
    # and the device has one dispense command for that claim, its stock one lower
    command = DeviceCommand.objects.get()
    assert claim.command == command and command.device == dispenser
    assert command.name == "dispense" and command.payload == {"claim": claim.pk, "count": 1}
    assert command.status == CommandStatus.PENDING
    dispenser.refresh_from_db()
    assert dispenser.sample_stock == 4
    assert DomainEvent.objects.filter(name="member.joined", payload__member=member.pk).count() == 1


def test_an_existing_member_is_not_duplicated_and_their_ticked_consent_is_recorded(brand, dispenser):
    # given a member of the brand (joined elsewhere, no call consent)
    other_store = StoreFactory(brand=brand)
    member = MemberFactory(brand=brand, store=other_store, phone=PHONE, consent_sms=False)
    # when they claim with the phone written differently, ticking calls
    claim = services.claim_sample(
        device=dispenser, phone="+86 138-0013-8000", consents={"sms": False, "call": True, "chat": False}
    )
    # then no second member; their recruitment is kept and the consent recorded
    assert Member.objects.count() == 1 and claim.member_id == member.pk
    member.refresh_from_db()
    assert member.store == other_store and member.consent_call is True and member.consent_sms is False
    record = ConsentRecord.objects.get(member=member)
    assert (record.channel, record.granted, record.source) == ("call", True, ConsentSource.STORE)


def test_one_sample_per_member_per_campaign_and_another_campaign_is_allowed(dispenser):
    # given a claim in campaign "spring"
    services.claim_sample(device=dispenser, phone=PHONE, consents=NO_CONSENT, campaign="spring")
    before = counts()
    # when the same member claims again in spring (at another dispenser of the brand, too)
    second = DeviceFactory(brand=dispenser.brand, store=dispenser.store, sample_stock=5)
    for device in (dispenser, second):
        with pytest.raises(services.ClaimRefused) as refused:
            services.claim_sample(device=device, phone=PHONE, consents={"sms": True}, campaign="spring")
        # then it is refused as already claimed and nothing is written (no command, no stock)
        assert refused.value.code == "already_claimed"
    assert counts() == before
    dispenser.refresh_from_db()
    second.refresh_from_db()
    assert (dispenser.sample_stock, second.sample_stock) == (4, 5)
    # and in another campaign they get one
    services.claim_sample(device=dispenser, phone=PHONE, consents=NO_CONSENT, campaign="summer")
    assert SampleClaim.objects.filter(member__isnull=False).count() == 2
    assert DeviceCommand.objects.count() == 2


def test_an_empty_dispenser_refuses_and_writes_nothing(brand, store):
    # given a dispenser with no samples left
    device = DeviceFactory(brand=brand, store=store, sample_stock=0)
    # when a new shopper claims
    with pytest.raises(services.ClaimRefused) as refused:
        services.claim_sample(device=device, phone=PHONE, consents={"sms": True})
    # then it is out of stock: no member, no claim, no command; stock stays 0
    assert refused.value.code == "out_of_stock"
    assert counts() == (0, 0, 0, 0)
    device.refresh_from_db()
    assert device.sample_stock == 0


def test_low_stock_is_published_once_per_crossing_of_the_threshold(dispenser, manager_user):
    # given stock 5 and an alert at 2: claims take it to 4, 3, 2 (crossing), 1, 0
    for n in range(5):
        services.claim_sample(device=dispenser, phone=f"1380013800{n}", consents=NO_CONSENT)
    # then one low-stock event, at the crossing, naming the device, serial and stock
    event = low_stock_events(dispenser).get()
    assert event.store_id == dispenser.store_id and event.brand_id == dispenser.brand_id
    assert event.payload == {"device": dispenser.pk, "serial": dispenser.serial, "stock": 2}
    # when a manager refills above the threshold and stock falls to it again
    services.set_sample_stock(device=dispenser, stock=3)
    services.claim_sample(device=dispenser, phone="13900139000", consents=NO_CONSENT)
    # then a second crossing, a second event
    assert low_stock_events(dispenser).count() == 2


def test_an_invalid_phone_is_refused_and_nothing_is_written(dispenser):
    for phone in ("", "12", "not a phone", "1" * 30):
        with pytest.raises(InvalidInput) as refused:
            services.claim_sample(device=dispenser, phone=phone, consents={"sms": True})
        assert refused.value.code == "invalid_phone" and "phone" in refused.value.fields
    assert counts() == (0, 0, 0, 0)
    dispenser.refresh_from_db()
    assert dispenser.sample_stock == 5


def test_a_device_that_is_not_an_active_dispenser_gives_no_sample(brand, store):
    mirror = DeviceFactory(
        brand=brand,
        store=store,
        sample_stock=5,
        device_type=DeviceTypeFactory(brand=brand, kind=DeviceKind.MAGIC_MIRROR),
    )
    retired = DeviceFactory(brand=brand, store=store, sample_stock=5, status=DeviceStatus.RETIRED)
    for device in (mirror, retired):
        with pytest.raises(NotFound):
            services.claim_sample(device=device, phone=PHONE, consents=NO_CONSENT)
    assert counts() == (0, 0, 0, 0)


def test_the_token_names_the_device_and_campaign_and_a_forged_one_names_nothing(dispenser):
    token = services.dispenser_token(device=dispenser, campaign="spring")
    assert services.read_dispenser_token(token) == (dispenser.pk, "spring")
    assert services.dispenser_token(device=dispenser, campaign="spring") == token  # printable, stable
    assert dispenser.credential not in token and dispenser.credential_prefix not in token
    assert services.read_dispenser_token(token[:-2] + "xx") is None
    assert services.read_dispenser_token("garbage") is None
    from django.core import signing

    other_salt = signing.Signer(salt="shelves").sign_object({"d": dispenser.pk, "c": "spring"})
    assert services.read_dispenser_token(other_salt) is None


# --- the shopper's page -------------------------------------------------------------------


def test_the_scan_page_turns_a_shopper_into_a_member_with_a_sample(dispenser, store):
    # given the page behind the QR code, opened on a phone without logging in
    client = Client(enforce_csrf_checks=True)
    url = scan_url(dispenser, "spring")
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert store.name in html and dispenser.brand.name in html and 'name="agree"' in html
    # when they send their phone, tick SMS and agree (with the CSRF token of the page)
    token = page.cookies["csrftoken"].value
    done = client.post(
        url, {"phone": PHONE, "consent_sms": "on", "agree": "on", "csrfmiddlewaretoken": token}
    )
    # then they see the success page and a dispense command waits for the device
    assert done.status_code == 200, done.content.decode()[:500]
    assert "dispenser-claimed" in done.content.decode()
    claim = SampleClaim.objects.get()
    assert claim.campaign == "spring" and claim.member.consent_sms and not claim.member.consent_call
    assert DeviceCommand.objects.filter(device=dispenser, name="dispense").count() == 1
    # and the phone number never appears in clear on the page
    assert PHONE not in done.content.decode()


def test_the_scan_form_needs_csrf_and_the_agreement(dispenser):
    client = Client(enforce_csrf_checks=True)
    url = scan_url(dispenser)
    assert client.post(url, {"phone": PHONE, "agree": "on"}).status_code == 403
    page = client.get(url)
    response = client.post(url, {"phone": PHONE, "csrfmiddlewaretoken": page.cookies["csrftoken"].value})
    assert response.status_code == 400
    assert "Please agree to join" in response.content.decode()
    assert counts() == (0, 0, 0, 0)


def test_an_invalid_phone_on_the_page_gets_a_clear_error_and_nothing_is_written(client, dispenser):
    response = client.post(scan_url(dispenser), {"phone": "12345", "agree": "on"})
    assert response.status_code == 400
    assert "Not a valid phone number." in response.content.decode()
    assert counts() == (0, 0, 0, 0)


def test_a_repeat_scan_gets_the_already_claimed_page_and_no_second_command(client, dispenser):
    url = scan_url(dispenser)
    assert client.post(url, {"phone": PHONE, "agree": "on"}).status_code == 200
    again = client.post(url, {"phone": PHONE, "agree": "on", "consent_call": "on"})
    assert again.status_code == 409
    assert "You already have your sample" in again.content.decode()
    assert DeviceCommand.objects.count() == 1 and SampleClaim.objects.count() == 1


def test_an_empty_dispenser_says_so_on_the_page(client, brand, store):
    device = DeviceFactory(brand=brand, store=store, sample_stock=0)
    page = client.get(scan_url(device))
    assert page.status_code == 200 and 'name="phone"' not in page.content.decode()
    response = client.post(scan_url(device), {"phone": PHONE, "agree": "on"})
    assert response.status_code == 409 and "Out of samples" in response.content.decode()
    assert counts() == (0, 0, 0, 0)


def test_a_forged_edited_or_unknown_token_is_a_404(client, dispenser, brand, store):
    token = services.dispenser_token(device=dispenser, campaign="spring")
    # an edited signature, a token of a device that no longer exists, another device kind
    mirror = DeviceFactory(
        brand=brand, store=store, device_type=DeviceTypeFactory(brand=brand, kind=DeviceKind.SHELF_SCREEN)
    )
    from django.core import signing

    forged = signing.Signer(salt="not-dispenser").sign_object({"d": dispenser.pk, "c": "winter"})
    urls = [
        f"/devices/dispensers/s/{token[:-3]}abc/",
        f"/devices/dispensers/s/{forged}/",
        scan_url(mirror),
        "/devices/dispensers/s/123/",
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"phone": PHONE, "agree": "on"}).status_code == 404, url
    assert counts() == (0, 0, 0, 0)


def test_claims_are_throttled_per_phone(client, dispenser):
    # given ten attempts with one phone in the hour (the first claims, the rest are repeats)
    url = scan_url(dispenser)
    for _ in range(10):
        assert client.post(url, {"phone": PHONE, "agree": "on"}).status_code in (200, 409)
    # when an eleventh comes, even in another campaign
    response = client.post(scan_url(dispenser, "summer"), {"phone": PHONE, "agree": "on"})
    # then it is refused with a clear message and nothing is claimed
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert SampleClaim.objects.count() == 1
    # and another phone is still served
    assert client.post(url, {"phone": "13900139000", "agree": "on"}).status_code == 200


def test_claims_are_throttled_per_address_whatever_the_phone(client, dispenser, monkeypatch):
    from retail import throttle

    # given an address allowed three attempts an hour at this dispenser
    monkeypatch.setattr(throttle, "IP_ATTEMPTS_PER_HOUR", 3)
    url = scan_url(dispenser)
    for phone in ("12", "34", "56"):  # guesses that are not even phone numbers count too
        assert client.post(url, {"phone": phone, "agree": "on"}).status_code == 400
    # when a fourth comes with a good new phone, it is refused and nothing is written
    response = client.post(url, {"phone": PHONE, "agree": "on"})
    assert response.status_code == 429 and "Too many attempts" in response.content.decode()
    assert counts() == (0, 0, 0, 0)
    # and another address is served
    other = client.post(url, {"phone": PHONE, "agree": "on"}, REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 200


def test_the_scan_page_speaks_the_browsers_language(client, dispenser):
    page = client.get(scan_url(dispenser), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert page.status_code == 200 and '<html lang="zh-hans">' in page.content.decode()


# --- staff pages --------------------------------------------------------------------------


def test_hq_sees_the_dispenser_with_its_qr_code_and_masked_claims(client, hq_user, dispenser):
    services.claim_sample(device=dispenser, phone=PHONE, consents=NO_CONSENT, campaign="spring")
    client.force_login(hq_user)
    page = client.get(
        reverse("devices:dispenser_detail", kwargs={"device_id": dispenser.pk}) + "?campaign=spring"
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in html and "138****8000" in html and PHONE not in html
    assert dispenser.credential not in html
    # the QR code's link is the signed scan URL of this device and campaign
    token = services.dispenser_token(device=dispenser, campaign="spring")
    assert f"/devices/dispensers/s/{token}/" in html
    qr = client.get(reverse("devices:dispenser_qr", kwargs={"device_id": dispenser.pk}))
    assert qr.status_code == 200 and "<svg" in qr.content.decode()


def test_the_dispenser_page_costs_the_same_queries_for_one_claim_or_many(
    client, hq_user, dispenser, django_assert_num_queries
):
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    client.force_login(hq_user)
    url = reverse("devices:dispenser_detail", kwargs={"device_id": dispenser.pk})
    services.claim_sample(device=dispenser, phone=PHONE, consents=NO_CONSENT)
    client.get(url)  # warm the session and role caches
    with CaptureQueriesContext(conn) as one:
        assert client.get(url).status_code == 200
    for n in range(4):
        services.claim_sample(device=dispenser, phone=f"1390013900{n}", consents=NO_CONSENT)
    assert len(one) <= 12, [q["sql"][:80] for q in one.captured_queries]
    with django_assert_num_queries(len(one)):
        assert client.get(url).status_code == 200


def test_a_manager_of_another_store_cannot_see_or_refill_the_dispenser(client, brand, dispenser):
    other = StoreFactory(brand=brand)
    user = StaffRoleFactory(
        user=UserFactory(username="manager-b"), brand=brand, store=other, role=Role.STORE_MANAGER
    ).user
    client.force_login(user)
    for name in ("devices:dispenser_detail", "devices:dispenser_qr"):
        assert client.get(reverse(name, kwargs={"device_id": dispenser.pk})).status_code == 404
    url = reverse("devices:dispenser_stock", kwargs={"device_id": dispenser.pk})
    assert client.post(url, {"sample_stock": 99}).status_code == 404
    dispenser.refresh_from_db()
    assert dispenser.sample_stock == 5


def test_a_manager_refills_the_stock_and_it_is_audited(client, manager_user, dispenser):
    client.force_login(manager_user)
    url = reverse("devices:dispenser_stock", kwargs={"device_id": dispenser.pk})
    response = client.post(url, {"sample_stock": 120})
    assert response.status_code == 302
    dispenser.refresh_from_db()
    assert dispenser.sample_stock == 120
    entry = AuditEvent.objects.get(
        object_type="devices.device", object_id=str(dispenser.pk), action=AuditAction.UPDATE
    )
    assert entry.actor == manager_user
    # a bad value changes nothing
    client.post(url, {"sample_stock": -1})
    dispenser.refresh_from_db()
    assert dispenser.sample_stock == 120


def test_a_guide_cannot_refill_the_stock(client, guide_user, dispenser):
    client.force_login(guide_user)
    url = reverse("devices:dispenser_stock", kwargs={"device_id": dispenser.pk})
    assert client.post(url, {"sample_stock": 99}).status_code == 403
    dispenser.refresh_from_db()
    assert dispenser.sample_stock == 5


# --- PostgreSQL: concurrency --------------------------------------------------------------


def _run_in_threads(n: int, target) -> list:
    barrier = threading.Barrier(n)
    results: list = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results.append(target(i))
        except Exception as exc:  # noqa: BLE001 - collected and asserted by the caller
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.skipif(not settings.IS_POSTGRES, reason="concurrency is tested on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_by_one_phone_make_one_member_and_one_claim(brand, store):
    # given a dispenser and eight claims of one new phone at the same moment
    device = DeviceFactory(brand=brand, store=store, sample_stock=10)
    results = _run_in_threads(
        8, lambda i: services.claim_sample(device=device, phone=PHONE, consents={"sms": True})
    )
    # then one member, one claim, one command; the others were told "already claimed"
    claims = [r for r in results if isinstance(r, SampleClaim)]
    refusals = [r for r in results if isinstance(r, services.ClaimRefused)]
    assert len(claims) == 1 and len(refusals) == 7, results
    assert {r.code for r in refusals} == {"already_claimed"}
    assert Member.objects.filter(brand=brand).count() == 1
    assert SampleClaim.objects.count() == 1 and DeviceCommand.objects.count() == 1
    device.refresh_from_db()
    assert device.sample_stock == 9


@pytest.mark.skipif(not settings.IS_POSTGRES, reason="concurrency is tested on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_one_phone_at_two_dispensers_at_once_makes_one_member_and_one_claim(brand, store):
    # given two dispensers and eight claims of one new phone, alternating between them
    devices = [DeviceFactory(brand=brand, store=store, sample_stock=10) for _ in range(2)]
    results = _run_in_threads(
        8, lambda i: services.claim_sample(device=devices[i % 2], phone=PHONE, consents={"chat": True})
    )
    # then one member (the join that lost found the winner's member) and one claim
    claims = [r for r in results if isinstance(r, SampleClaim)]
    refusals = [r for r in results if isinstance(r, services.ClaimRefused)]
    assert len(claims) == 1 and len(refusals) == 7, results
    assert {r.code for r in refusals} == {"already_claimed"}
    assert Member.objects.filter(brand=brand).count() == 1
    assert SampleClaim.objects.count() == 1 and DeviceCommand.objects.count() == 1
    assert (
        sum(Device.objects.filter(pk__in=[d.pk for d in devices]).values_list("sample_stock", flat=True))
        == 19
    )


@pytest.mark.skipif(not settings.IS_POSTGRES, reason="concurrency is tested on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_take_the_stock_below_zero(brand, store):
    # given three samples left and eight different shoppers claiming at once
    device = DeviceFactory(brand=brand, store=store, sample_stock=3, low_stock_threshold=1)
    results = _run_in_threads(
        8, lambda i: services.claim_sample(device=device, phone=f"1390013900{i}", consents=NO_CONSENT)
    )
    # then three get a sample, five are told it ran out, and nothing of theirs is kept
    claims = [r for r in results if isinstance(r, SampleClaim)]
    refusals = [r for r in results if isinstance(r, services.ClaimRefused)]
    assert len(claims) == 3 and len(refusals) == 5, results
    assert {r.code for r in refusals} == {"out_of_stock"}
    device.refresh_from_db()
    assert device.sample_stock == 0
    assert SampleClaim.objects.count() == 3 and DeviceCommand.objects.count() == 3
    assert Member.objects.filter(brand=brand).count() == 3
    assert low_stock_events(device).count() == 1


# --- the device's command API -------------------------------------------------------------

# (the project's own routes: devices/api/urls.py, under /api/v1/)


def device_client(device):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {device.credential}")
    return client


def _commands_url(device) -> str:
    return reverse("device-commands", args=[device.pk])


def _ack_url(device, command) -> str:
    return reverse("device-command-ack", args=[device.pk, command.pk])


def test_the_command_routes_are_the_documented_ones(dispenser):
    assert _commands_url(dispenser) == f"/api/v1/devices/{dispenser.pk}/commands/"
    assert _ack_url(dispenser, DeviceCommand(pk=7)) == f"/api/v1/devices/{dispenser.pk}/commands/7/ack/"


def test_the_device_polls_its_dispense_command_once_and_acknowledges_it(dispenser):
    # given a claim that queued a dispense command
    claim = services.claim_sample(device=dispenser, phone=PHONE, consents=NO_CONSENT)
    api = device_client(dispenser)
    # when the device polls
    first = api.get(_commands_url(dispenser))
    # then it gets the command, now delivered; a second poll gets nothing new
    assert first.status_code == 200, first.content
    [command] = first.json()["results"]
    assert command["id"] == claim.command_id and command["name"] == "dispense"
    assert command["payload"] == {"claim": claim.pk, "count": 1} and command["status"] == "delivered"
    assert api.get(_commands_url(dispenser)).json()["results"] == []
    # when it acknowledges, twice
    ack = api.post(_ack_url(dispenser, claim.command), {}, format="json")
    again = api.post(_ack_url(dispenser, claim.command), {}, format="json")
    # then the command is acknowledged once, and the repeat answers the same
    assert ack.status_code == 200 and again.status_code == 200
    assert ack.json()["status"] == "acknowledged"
    assert ack.json()["acknowledged_at"] == again.json()["acknowledged_at"]


def test_a_device_cannot_see_or_acknowledge_another_devices_commands(dispenser, brand, store):
    # given a command of the dispenser and another device of the same store
    claim = services.claim_sample(device=dispenser, phone=PHONE, consents=NO_CONSENT)
    other = DeviceFactory(brand=brand, store=store, sample_stock=5)
    api = device_client(other)
    # then the other device's credential gets 404 for the dispenser's queue and command
    assert api.get(_commands_url(dispenser)).status_code == 404
    response = api.post(_ack_url(other, claim.command), {}, format="json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    claim.command.refresh_from_db()
    assert claim.command.status == CommandStatus.PENDING
    # and a wrong credential is a 401
    from rest_framework.test import APIClient

    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Bearer {dispenser.credential}x")
    assert stranger.get(_commands_url(dispenser)).status_code == 401


def test_a_partner_reads_the_queue_without_taking_commands_and_another_brand_gets_404(
    dispenser, brand, other_brand
):
    from conftest import make_partner

    # given a pending dispense command
    claim = services.claim_sample(device=dispenser, phone=PHONE, consents=NO_CONSENT)
    # when a partner of the brand reads the queue
    ours = make_partner(brand, scopes=["devices:read"]).get(_commands_url(dispenser))
    # then it sees the command, still pending (the device will still get it)
    assert ours.status_code == 200, ours.content
    assert [c["id"] for c in ours.json()["results"]] == [claim.command_id]
    claim.command.refresh_from_db()
    assert claim.command.status == CommandStatus.PENDING
    # and another brand's partner, holding every scope, gets 404 for the queue and the ack
    theirs = make_partner(other_brand)
    assert theirs.get(_commands_url(dispenser)).status_code == 404
    response = theirs.post(_ack_url(dispenser, claim.command), {}, format="json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    claim.command.refresh_from_db()
    assert claim.command.status == CommandStatus.PENDING


def test_a_partner_with_devices_write_acknowledges_for_its_device(dispenser, brand):
    from conftest import make_partner

    claim = services.claim_sample(device=dispenser, phone=PHONE, consents=NO_CONSENT)
    reader = make_partner(brand, scopes=["devices:read"])
    assert reader.post(_ack_url(dispenser, claim.command), {}, format="json").status_code == 403
    writer = make_partner(brand, scopes=["devices:write"])
    response = writer.post(_ack_url(dispenser, claim.command), {}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "acknowledged"
