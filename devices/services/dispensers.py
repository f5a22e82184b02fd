"""Sample dispenser (派样机) use cases: a scan becomes a member and a dispense command;
stock refills; the device's command queue (poll, acknowledge).

The QR code on a dispenser carries a signed token naming the device and the campaign
(django.core.signing, salt "dispenser", no expiry) — never the device credential. The
campaign is part of the signed value, so a shopper cannot edit the link to claim again under
another campaign; a new campaign means printing a new QR code (the QR page takes
`?campaign=<code>`, default "default").

A member is attributed to the store (Member.store, source `sample_dispenser`) and to the
device through their SampleClaim (SampleClaim.device)."""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from members import selectors as member_selectors
from members import services as member_services
from members.choices import ConsentChannel, ConsentSource, MemberSource
from retail import audit, events
from retail.choices import AuditAction
from retail.errors import Conflict, DomainError, InvalidInput, NotFound

from ..choices import CommandStatus, DeviceKind, DeviceStatus
from ..models import Device, DeviceCommand, SampleClaim

TOKEN_SALT = "dispenser"
DEFAULT_CAMPAIGN = "default"
DISPENSE = "dispense"
_CAMPAIGN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ClaimRefused(DomainError):
    """The shopper gets no sample: `already_claimed` or `out_of_stock`."""

    status = 409
    code = "claim_refused"


# --- the QR token -------------------------------------------------------------------------


def clean_campaign(campaign: str | None) -> str:
    """A campaign code: letters, digits, `_ . -`, at most 64; empty means the default."""
    value = (campaign or "").strip() or DEFAULT_CAMPAIGN
    if not _CAMPAIGN.fullmatch(value):
        raise InvalidInput(
            "invalid_campaign",
            _("A campaign code is up to 64 letters, digits, dots, dashes or underscores."),
            fields={"campaign": [_("Not a valid campaign code.")]},
        )
    return value


def dispenser_token(*, device: Device, campaign: str = DEFAULT_CAMPAIGN) -> str:
    """The signed value printed in the dispenser's QR code (device id and campaign)."""
    # No timestamp (not signing.dumps): one device and campaign always print the same code.
    return _signer().sign_object({"d": device.pk, "c": clean_campaign(campaign)}, compress=True)


def _signer() -> signing.Signer:
    return signing.Signer(salt=TOKEN_SALT)


def read_dispenser_token(token: str) -> tuple[int, str] | None:
    """(device id, campaign) from a token, or None for a forged or malformed one."""
    try:
        value = _signer().unsign_object(token)
    except (signing.BadSignature, ValueError, zlib.error):  # forged, or signed but not ours
        return None
    if not isinstance(value, dict) or not isinstance(value.get("d"), int) or isinstance(value.get("d"), bool):
        return None
    try:
        return value["d"], clean_campaign(value.get("c"))
    except InvalidInput:
        return None


def is_dispensing(device: Device) -> bool:
    """A sample dispenser that is not retired."""
    return (
        device.device_type.kind == DeviceKind.SAMPLE_DISPENSER
        and device.status != DeviceStatus.RETIRED
        and device.retired_at is None
    )


# --- claiming a sample --------------------------------------------------------------------


def _member_for(device: Device, phone: str, consents: Mapping[str, bool]):
    """The brand's member with this phone, joining them (source sample dispenser, the
    device's store) when new; an existing member's ticked consents are recorded."""
    member = member_selectors.member_by_phone(brand_id=device.brand_id, phone=phone)
    if member is None:
        try:
            return member_services.join_member(
                brand_id=device.brand_id,
                phone=phone,
                source=MemberSource.SAMPLE_DISPENSER,
                store=device.store,
                consent_source=ConsentSource.STORE,
                **{f"consent_{channel}": granted for channel, granted in consents.items()},
            )
        except Conflict as exc:
            # a concurrent claim with the same phone joined them first (its savepoint
            # rolled back, our transaction is intact): use that member
            if exc.code != "duplicate_phone":
                raise
            member = member_selectors.member_by_phone(brand_id=device.brand_id, phone=phone)
            if member is None:  # pragma: no cover - the conflict says it exists
                raise
    for channel, granted in consents.items():
        if granted:
            member_services.record_consent(
                member=member, channel=channel, granted=True, source=ConsentSource.STORE
            )
    return member


def claim_sample(
    *, device: Device, phone: str, consents: Mapping[str, bool], campaign: str = DEFAULT_CAMPAIGN
) -> SampleClaim:
    """A shopper claims a sample at a dispenser: they join (or are found) as a member, one
    claim per member per campaign, one sample taken from the device's stock, a `dispense`
    command queued for the device. One transaction: a refusal (invalid phone, already
    claimed, out of stock) writes nothing. Publishes `device.low_stock` when the stock falls
    to the device's threshold (once per crossing: stock only falls one at a time, under the
    device's row lock). Two claims of one phone at two dispensers at once still make one
    member (the loser of the join finds the winner's member) and one claim per campaign."""
    campaign = clean_campaign(campaign)
    if member_selectors.phone_hash_or_none(phone) is None:
        raise InvalidInput(
            "invalid_phone",
            _("Not a valid phone number."),
            fields={"phone": [_("Not a valid phone number.")]},
        )
    wanted = {channel: bool(consents.get(channel)) for channel in ConsentChannel.values}
    with transaction.atomic():
        # Claims at one dispenser take turns (its row lock, held to commit): the machine drops
        # one sample at a time anyway, and joining members one after another keeps the
        # brand's member numbers from colliding under a rush.
        device = (
            Device.objects.select_for_update(of=("self",))
            .select_related("device_type", "store")
            .get(pk=device.pk)
        )
        if not is_dispensing(device):
            raise NotFound("not_a_dispenser", _("This device does not dispense samples."))
        if device.sample_stock <= 0:
            raise ClaimRefused("out_of_stock", _("Sorry, this dispenser has run out of samples."))
        member = _member_for(device, phone, wanted)
        # The claim goes in first: its unique (member, campaign) settles a race between two
        # claims of one member before either touches the stock.
        try:
            with transaction.atomic():
                claim = SampleClaim.objects.create(
                    brand_id=device.brand_id, device=device, member=member, campaign=campaign
                )
        except IntegrityError as exc:
            raise ClaimRefused(
                "already_claimed", _("You have already received a sample in this campaign.")
            ) from exc
        taken = Device.objects.filter(pk=device.pk, sample_stock__gt=0).update(
            sample_stock=F("sample_stock") - 1, updated_at=timezone.now()
        )
        if not taken:
            raise ClaimRefused("out_of_stock", _("Sorry, this dispenser has run out of samples."))
        stock, threshold = (
            Device.objects.filter(pk=device.pk).values_list("sample_stock", "low_stock_threshold").get()
        )
        claim.command = DeviceCommand.objects.create(
            brand_id=device.brand_id, device=device, name=DISPENSE, payload={"claim": claim.pk, "count": 1}
        )
        claim.save(update_fields=["command"])
        if stock == threshold:
            _publish_low_stock(device, stock)
    return claim


def _publish_low_stock(device: Device, stock: int) -> None:
    events.publish(
        "device.low_stock",
        brand=device.brand_id,
        store=device.store_id,
        device=device.pk,
        serial=device.serial,
        stock=stock,
    )


def set_sample_stock(*, device: Device, stock: int) -> Device:
    """A manager refills (or corrects) a dispenser's sample stock. Audited. Setting it at or
    below the threshold from above counts as a crossing (`device.low_stock`)."""
    if isinstance(stock, bool) or not isinstance(stock, int) or not 0 <= stock <= 1_000_000:
        raise InvalidInput(
            "invalid_stock",
            _("Stock is a whole number from 0 to 1,000,000."),
            fields={"sample_stock": [_("Enter a whole number from 0 to 1,000,000.")]},
        )
    with transaction.atomic():
        locked = Device.objects.select_for_update().get(pk=device.pk)
        before = locked.sample_stock
        locked.sample_stock = stock
        locked.save(update_fields=["sample_stock", "updated_at"])
        audit.record(
            AuditAction.UPDATE,
            locked,
            before={"sample_stock": before},
            after={"sample_stock": stock},
            message="sample stock set",
        )
        if before > locked.low_stock_threshold >= stock:
            _publish_low_stock(locked, stock)
    device.sample_stock = stock
    return device


# --- the command queue --------------------------------------------------------------------


def deliver_commands(*, device: Device, limit: int = 50) -> list[DeviceCommand]:
    """The device's pending commands, oldest first, now marked delivered: each is handed out
    once (a dispense sent twice would drop two samples). Concurrent polls of one device get
    disjoint commands (row locks)."""
    with transaction.atomic():
        commands = list(
            DeviceCommand.objects.select_for_update()
            .filter(device_id=device.pk, status=CommandStatus.PENDING)
            .order_by("id")[:limit]
        )
        if commands:
            now = timezone.now()
            DeviceCommand.objects.filter(pk__in=[c.pk for c in commands]).update(
                status=CommandStatus.DELIVERED, delivered_at=now
            )
            for command in commands:
                command.status, command.delivered_at = CommandStatus.DELIVERED, now
    return commands


def acknowledge_command(*, device: Device, command_id: int) -> DeviceCommand:
    """The device confirms it ran a command of its own; a repeat changes nothing. Another
    device's command is NotFound."""
    with transaction.atomic():
        command = DeviceCommand.objects.select_for_update().filter(device_id=device.pk, pk=command_id).first()
        if command is None:
            raise NotFound("not_found", _("Not found."))
        if command.status != CommandStatus.ACKNOWLEDGED:
            now = timezone.now()
            command.status = CommandStatus.ACKNOWLEDGED
            command.acknowledged_at = now
            command.delivered_at = command.delivered_at or now
            command.save(update_fields=["status", "acknowledged_at", "delivered_at"])
    return command
