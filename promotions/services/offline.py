"""Offline in the store: redemptions a tablet made without the network (synced later), and
blocks of coupons a tablet holds so it can hand them out offline.

Redemptions: each record carries the coupon's signed token and the tablet's own UUID for
it (`client_id`), so a re-sync is harmless (one OfflineRedemption per brand and client id).
A coupon redeemed on two tablets: the earliest tablet time wins, whichever syncs first; the
other becomes a DOUBLE_SPEND incident for HQ holding both records (one incident per coupon).

Blocks: issuing takes the whole block from the template's stock at once (all or nothing) and
pre-creates the coupons RESERVED, so stock is never exceeded offline; syncing gives the
handed-out ones to their members (the per-member limit still holds) and returns the rest."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from members import selectors as member_selectors
from members import services as member_services
from retail import events
from retail.errors import DomainError, InvalidInput
from retail.models import Store

from ..choices import (
    BlockStatus,
    CampaignStatus,
    ClaimVia,
    CouponChannel,
    CouponStatus,
    IncidentKind,
    OfflineOutcome,
    RedemptionSource,
    Severity,
)
from ..models import Coupon, CouponTemplate, Incident, OfflineBlock, OfflineRedemption, Redemption
from . import coupons as coupon_services
from . import stockgate, tokens

MAX_RECORDS = 500  # per sync request
MAX_BLOCK = 200
# a tablet whose clock runs ahead: its times are taken as "now" (never in the future)
CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Outcome:
    """What became of one offline record (a redemption or a block handout)."""

    client_id: str
    code: str
    outcome: str  # OfflineOutcome
    reason: str = ""
    reason_code: str = ""
    discount: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


# --- redemptions --------------------------------------------------------------------------


def _tablet_time(value, now: dt.datetime) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        when = value
    else:
        when = parse_datetime(str(value or "").strip())
    if when is None:
        return None
    if timezone.is_naive(when):
        when = timezone.make_aware(when, dt.UTC)
    return min(when, now)


def _money(value) -> Decimal | None:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, TypeError, ValueError):
        return None
    if not amount.is_finite() or amount <= 0 or amount >= Decimal("10000000000"):
        return None
    return amount


@dataclass
class _Record:
    client_id: str
    code: str
    token: str
    subtotal: Decimal | None
    order_ref: str
    redeemed_at: dt.datetime | None


def _parse_record(raw, now: dt.datetime) -> _Record:
    raw = raw if isinstance(raw, dict) else {}
    return _Record(
        client_id=str(raw.get("client_id") or "").strip()[:64],
        code=coupon_services.normalise_code(raw.get("code") or ""),
        token=str(raw.get("token") or "").strip()[:2000],
        subtotal=_money(raw.get("subtotal")),
        order_ref=str(raw.get("order_ref") or "").strip()[:64],
        redeemed_at=_tablet_time(raw.get("redeemed_at"), now),
    )


def _outcome_of(row: OfflineRedemption) -> Outcome:
    discount = ""
    if row.outcome == OfflineOutcome.ACCEPTED and row.redemption_id:
        discount = str(
            Redemption.objects.filter(pk=row.redemption_id).values_list("discount", flat=True).first() or ""
        )
    return Outcome(row.client_id, row.code, row.outcome, row.reason, discount=discount)


def sync_redemptions(
    *, store: Store, staff_id: int | None, device_label: str, records: list, now: dt.datetime | None = None
) -> list[Outcome]:
    """Take a tablet's queued offline redemptions: each becomes the coupon's Redemption
    (source offline, at tablet time), a double-spend incident, or is rejected with a reason.
    Idempotent by client_id: a record seen before answers with its first outcome."""
    now = now or timezone.now()
    if not isinstance(records, list) or len(records) > MAX_RECORDS:
        raise InvalidInput(
            "invalid_records", _("Send at most %(n)s redemptions at a time.") % {"n": MAX_RECORDS}
        )
    device_label = str(device_label or "")[:80]
    outcomes = []
    for raw in records:
        record = _parse_record(raw, now)
        if not record.client_id:
            outcomes.append(
                Outcome("", record.code, OfflineOutcome.REJECTED, _("A record without its id."), "invalid")
            )
            continue
        outcomes.append(_sync_one(store=store, staff_id=staff_id, device_label=device_label, record=record))
    return outcomes


def _sync_one(*, store: Store, staff_id: int | None, device_label: str, record: _Record) -> Outcome:
    seen = OfflineRedemption.objects.filter(brand_id=store.brand_id, client_id=record.client_id).first()
    if seen is not None:
        return _outcome_of(seen)
    try:
        with transaction.atomic():
            return _settle(store=store, staff_id=staff_id, device_label=device_label, record=record)
    except IntegrityError:
        # the same record synced twice at once: the twin's outcome stands
        seen = OfflineRedemption.objects.filter(brand_id=store.brand_id, client_id=record.client_id).first()
        if seen is None:
            raise
        return _outcome_of(seen)


def _row(store, staff_id, device_label, record, *, coupon=None, **fields) -> OfflineRedemption:
    with transaction.atomic():
        return OfflineRedemption.objects.create(
            brand_id=store.brand_id,
            client_id=record.client_id,
            code=record.code or "-",
            coupon=coupon,
            store=store,
            staff_id=staff_id,
            device_label=device_label,
            order_ref=record.order_ref,
            order_subtotal=record.subtotal or Decimal("0"),
            redeemed_at=record.redeemed_at or timezone.now(),
            **fields,
        )


def _reject(store, staff_id, device_label, record, code: str, reason: str, coupon=None) -> Outcome:
    _row(
        store,
        staff_id,
        device_label,
        record,
        coupon=coupon,
        outcome=OfflineOutcome.REJECTED,
        reason=reason[:200],
    )
    return Outcome(record.client_id, record.code, OfflineOutcome.REJECTED, reason, code)


def _settle(*, store: Store, staff_id: int | None, device_label: str, record: _Record) -> Outcome:
    args = (store, staff_id, device_label, record)
    if record.subtotal is None:
        return _reject(*args, "invalid_subtotal", _("The order's amount is missing or not a number."))
    if record.redeemed_at is None:
        return _reject(*args, "invalid_time", _("The tablet's time of the redemption is missing."))
    try:
        payload = tokens.verify(record.token, brand_id=store.brand_id)
    except DomainError:
        return _reject(
            *args, "forged", _("The coupon's signature is not genuine: a forged or damaged coupon.")
        )
    if coupon_services.normalise_code(payload.get("c")) != record.code:
        return _reject(
            *args, "forged", _("The coupon's signature is not genuine: a forged or damaged coupon.")
        )
    coupon = coupon_services.lock_coupon(brand_id=store.brand_id, code=record.code)
    if coupon is None or coupon.status == CouponStatus.RESERVED:
        return _reject(*args, "coupon_not_found", coupon_services.not_found().message)
    if coupon.status == CouponStatus.REDEEMED:
        return _double_spend(
            store=store, staff_id=staff_id, device_label=device_label, record=record, coupon=coupon
        )
    try:
        redemption = coupon_services.redeem_coupon(
            brand_id=store.brand_id,
            code=record.code,
            store=store,
            subtotal=record.subtotal,
            source=RedemptionSource.OFFLINE,
            staff_id=staff_id,
            order_ref=record.order_ref,
            redeemed_at=record.redeemed_at,
        )
    except DomainError as exc:
        return _reject(*args, exc.code, exc.message, coupon=coupon)
    _row(*args, coupon=coupon, outcome=OfflineOutcome.ACCEPTED, redemption=redemption)
    return Outcome(record.client_id, record.code, OfflineOutcome.ACCEPTED, discount=str(redemption.discount))


def _check_at(coupon: Coupon, *, store: Store, record: _Record) -> Decimal:
    """The rules of a redemption at the record's tablet time, as if the coupon were unused
    (the coupon is redeemed already: which of the two is first is decided after)."""
    status = coupon.status
    coupon.status = CouponStatus.CLAIMED
    try:
        return coupon_services.check_redeemable(
            coupon, store=store, subtotal=record.subtotal, at=record.redeemed_at
        )
    finally:
        coupon.status = status


def _snapshot(redemption: Redemption, *, client_id: str = "", device_label: str = "") -> dict:
    return {
        "client_id": client_id,
        "source": redemption.source,
        "store": redemption.store_id,
        "staff": redemption.staff_id,
        "device": device_label,
        "order": redemption.order_id,
        "order_ref": redemption.order_ref,
        "subtotal": str(redemption.order_subtotal),
        "discount": str(redemption.discount),
        "redeemed_at": redemption.redeemed_at.isoformat(),
    }


def _record_snapshot(record: _Record, *, store: Store, staff_id, device_label: str, discount) -> dict:
    return {
        "client_id": record.client_id,
        "source": RedemptionSource.OFFLINE,
        "store": store.pk,
        "staff": staff_id,
        "device": device_label,
        "order_ref": record.order_ref,
        "subtotal": str(record.subtotal),
        "discount": str(discount),
        "redeemed_at": record.redeemed_at.isoformat(),
    }


def _double_spend(*, store: Store, staff_id, device_label: str, record: _Record, coupon: Coupon) -> Outcome:
    """The coupon is redeemed already: the earlier of the two (tablet time) keeps the
    Redemption, the later is recorded on the coupon's double-spend incident."""
    args = (store, staff_id, device_label, record)
    try:
        discount = _check_at(coupon, store=store, record=record)
    except DomainError as exc:
        # not a valid redemption in its own right (expired then, wrong store...): refused
        return _reject(*args, exc.code, exc.message, coupon=coupon)
    redemption = Redemption.objects.select_for_update().get(coupon=coupon)
    previous = OfflineRedemption.objects.filter(
        redemption=redemption, outcome=OfflineOutcome.ACCEPTED
    ).first()
    existing = _snapshot(
        redemption,
        client_id=previous.client_id if previous else "",
        device_label=previous.device_label if previous else "",
    )
    mine = _record_snapshot(
        record, store=store, staff_id=staff_id, device_label=device_label, discount=discount
    )
    new_is_first = record.redeemed_at < redemption.redeemed_at
    if new_is_first:
        winner, loser = mine, existing
        Redemption.objects.filter(pk=redemption.pk).update(
            store=store,
            staff_id=staff_id,
            source=RedemptionSource.OFFLINE,
            order=None,
            order_ref=record.order_ref,
            order_subtotal=record.subtotal,
            discount=discount,
            redeemed_at=record.redeemed_at,
        )
        Coupon.objects.filter(pk=coupon.pk).update(redeemed_at=record.redeemed_at)
    else:
        winner, loser = existing, mine
    incident, created = _incident_for(coupon=coupon, store=store, winner=winner, loser=loser)
    if new_is_first:
        _row(*args, coupon=coupon, outcome=OfflineOutcome.ACCEPTED, redemption=redemption, incident=incident)
        if previous is not None:
            OfflineRedemption.objects.filter(pk=previous.pk).update(
                outcome=OfflineOutcome.CONFLICT,
                redemption=None,
                incident=incident,
                reason=_("An earlier redemption of this coupon was synced from another tablet.")[:200],
            )
        result = Outcome(record.client_id, record.code, OfflineOutcome.ACCEPTED, discount=str(discount))
    else:
        reason = _("This coupon was redeemed earlier elsewhere; HQ has an incident with both records.")
        _row(*args, coupon=coupon, outcome=OfflineOutcome.CONFLICT, reason=reason[:200], incident=incident)
        result = Outcome(record.client_id, record.code, OfflineOutcome.CONFLICT, reason, "double_spend")
    # the payload of every incident event (as promotions.services.incidents publishes them;
    # HQ's live feed folds title, kind, severity and status)
    payload = {
        "incident": incident.pk,
        "title": incident.title,
        "kind": incident.kind,
        "severity": incident.severity,
        "status": incident.status,
        "campaign": incident.campaign_id,
    }
    if created:
        events.publish("incident.opened", brand=store.brand_id, store=incident.store_id, **payload)
    else:
        events.publish(
            "incident.updated",
            brand=store.brand_id,
            store=incident.store_id,
            change="records_added",
            **payload,
        )
    return result


def _incident_for(*, coupon: Coupon, store: Store, winner: dict, loser: dict) -> tuple[Incident, bool]:
    """The coupon's one double-spend incident (made on the first conflict), with every
    record: the redemption that stands first, then the losers."""
    incident = (
        Incident.objects.select_for_update()
        .filter(brand_id=coupon.brand_id, kind=IncidentKind.DOUBLE_SPEND, details__code=coupon.code)
        .first()
    )
    created = incident is None
    if created:
        incident = Incident(
            brand_id=coupon.brand_id,
            store=store,
            campaign_id=coupon.template.campaign_id,
            kind=IncidentKind.DOUBLE_SPEND,
            severity=Severity.HIGH,
            title=(_("Coupon %(code)s redeemed twice offline") % {"code": coupon.code})[:200],
            note=_("The earliest redemption (tablet time) stands; the others are listed in the details."),
            details={"code": coupon.code, "coupon": coupon.pk, "template": coupon.template_id, "records": []},
        )
    details = dict(incident.details or {})
    # the redemption that stood so far is now `winner` or `loser`: drop its old entry
    earlier_losers = [dict(r, standing=False) for r in details.get("records", []) if not r.get("standing")]
    records = [dict(winner, standing=True), *earlier_losers, dict(loser, standing=False)]
    details["records"] = records
    incident.details = details
    incident.save()
    return incident, created


# --- offline claim blocks -----------------------------------------------------------------


def _refresh_stock_gate(template) -> None:
    """A block changed the stock in the database: the flash-sale counter in Redis (if any)
    is re-read from it after commit (a returned block would otherwise stay unsold)."""
    if stockgate.enabled():
        transaction.on_commit(lambda: stockgate.forget(template))


@dataclass(frozen=True)
class BlockCoupon:
    code: str
    token: str


def check_blockable(template: CouponTemplate, store: Store, *, now: dt.datetime | None = None) -> None:
    """May this store's tablet hold a block of the template? (raises CouponRefused)"""
    now = now or timezone.now()
    if template.brand_id != store.brand_id:
        raise coupon_services.not_found()
    if not template.is_active:
        raise coupon_services.CouponRefused("template_inactive", _("This coupon is not being given out."))
    if template.campaign_id and template.campaign.status != CampaignStatus.PUBLISHED:
        raise coupon_services.CouponRefused(
            "campaign_not_live", _("The campaign of this coupon is not live.")
        )
    if now >= template.valid_until:
        raise coupon_services.CouponRefused("template_expired", _("This coupon has expired."))
    if template.channel == CouponChannel.ONLINE:
        raise coupon_services.CouponRefused("wrong_channel", _("This coupon is for online orders only."))
    stores = coupon_services.valid_store_ids(template)
    if stores is not None and store.pk not in stores:
        raise coupon_services.CouponRefused("wrong_store", _("This coupon is not valid in this store."))


def issue_block(
    *, template: CouponTemplate, store: Store, holder_id: int | None, device_label: str, size: int
) -> OfflineBlock:
    """Give a tablet `size` coupons of the template to hand out offline: taken from the stock
    at once (all or nothing, `sold_out` otherwise), pre-created RESERVED. A tablet that holds
    an open block of the template gets that one back (a repeated request takes nothing)."""
    device_label = str(device_label or "").strip()[:80]
    if not device_label:
        raise InvalidInput("invalid_device", _("Name the tablet."), fields={"device_label": [_("Required.")]})
    try:
        size = int(size)
    except (TypeError, ValueError):
        size = 0
    if not 1 <= size <= MAX_BLOCK:
        raise InvalidInput(
            "invalid_size",
            _("A block holds 1 to %(max)s coupons.") % {"max": MAX_BLOCK},
            fields={"size": [_("Between 1 and %(max)s.") % {"max": MAX_BLOCK}]},
        )
    check_blockable(template, store)
    with transaction.atomic():
        held = (
            OfflineBlock.objects.select_for_update()
            .filter(
                brand_id=store.brand_id,
                template=template,
                store=store,
                device_label=device_label,
                status=BlockStatus.OPEN,
            )
            .first()
        )
        if held is not None:
            return held
        coupon_services.take_stock(template, size)
        _refresh_stock_gate(template)
        block = OfflineBlock.objects.create(
            brand_id=store.brand_id,
            template=template,
            store=store,
            holder_id=holder_id,
            device_label=device_label,
            size=size,
        )
        codes: set[str] = set()
        while len(codes) < size:
            codes.add(coupon_services.new_code())
        Coupon.objects.bulk_create(
            [
                Coupon(
                    brand_id=store.brand_id,
                    template=template,
                    member=None,
                    code=code,
                    status=CouponStatus.RESERVED,
                    claim_via=ClaimVia.OFFLINE,
                    claim_store=store,
                    claimed_by_id=holder_id,
                    block=block,
                )
                for code in sorted(codes)
            ]
        )
    return block


def block_coupons(block: OfflineBlock) -> list[BlockCoupon]:
    """The block's coupons not yet handed out, each with its offline token (what the tablet
    keeps to hand out and to verify offline)."""
    coupons = list(
        Coupon.objects.filter(block=block, status=CouponStatus.RESERVED)
        .select_related("template", "template__campaign")
        .order_by("code")
    )
    return [BlockCoupon(coupon.code, tokens.sign(coupon)) for coupon in coupons]


def sync_block(
    *, block: OfflineBlock, handouts: list, staff_id: int | None = None, now: dt.datetime | None = None
) -> list[Outcome]:
    """A tablet's block comes back: each handout {code, phone, time, client_id} gives its
    coupon to the member with that phone (joining the brand when new; the per-member limit
    and tiers still hold, refused ones are rejected with a reason), the rest go back to the
    stock, the block is SYNCED. A block synced already answers from what it recorded."""
    now = now or timezone.now()
    if not isinstance(handouts, list) or len(handouts) > MAX_BLOCK:
        raise InvalidInput("invalid_handouts", _("Send the block's handouts as a list."))
    with transaction.atomic():
        block = OfflineBlock.objects.select_for_update().select_related("template", "store").get(pk=block.pk)
        if block.status == BlockStatus.SYNCED:
            return _replay_block(block, handouts)
        template = block.template
        outcomes = []
        given = 0
        for raw in handouts:
            outcome = _hand_out(block=block, template=template, raw=raw, staff_id=staff_id, now=now)
            given += outcome.outcome == OfflineOutcome.ACCEPTED
            outcomes.append(outcome)
        unused = Coupon.objects.filter(block=block, status=CouponStatus.RESERVED)
        returned = unused.update(status=CouponStatus.VOID)
        coupon_services.return_stock(template, returned)
        _refresh_stock_gate(template)
        OfflineBlock.objects.filter(pk=block.pk).update(
            status=BlockStatus.SYNCED,
            handed_out=given,
            returned=returned,
            synced_at=now,
        )
        events.publish(
            "coupon.block_synced",
            brand=block.brand_id,
            store=block.store_id,
            block=block.pk,
            template=template.pk,
            campaign=template.campaign_id,
            handed_out=given,
            returned=returned,
        )
    return outcomes


BLOCK_GRACE = dt.timedelta(days=1)


def close_expired_blocks(*, now: dt.datetime | None = None) -> int:
    """Sync (with no hand-outs) every open block whose template expired more than a day ago:
    a tablet that never came back must not hold coupons forever. Returns blocks closed."""
    now = now or timezone.now()
    stale = OfflineBlock.objects.filter(status=BlockStatus.OPEN, template__valid_until__lt=now - BLOCK_GRACE)
    closed = 0
    for block in stale.order_by("pk")[:500]:
        sync_block(block=block, handouts=[], now=now)
        closed += 1
    return closed


def _handout_fields(raw) -> tuple[str, str, str, object]:
    raw = raw if isinstance(raw, dict) else {}
    return (
        str(raw.get("client_id") or "")[:64],
        coupon_services.normalise_code(raw.get("code") or ""),
        str(raw.get("phone") or "")[:40],
        raw.get("time") or raw.get("handed_at"),
    )


def _hand_out(*, block: OfflineBlock, template: CouponTemplate, raw, staff_id, now) -> Outcome:
    client_id, code, phone, when = _handout_fields(raw)

    def rejected(reason_code: str, reason: str) -> Outcome:
        return Outcome(client_id, code, OfflineOutcome.REJECTED, reason, reason_code)

    handed_at = _tablet_time(when, now) or now
    coupon = Coupon.objects.select_for_update().filter(block=block, code=code).first() if code else None
    if coupon is None:
        return rejected("coupon_not_found", _("This coupon is not in the tablet's block."))
    if coupon.status != CouponStatus.RESERVED:
        return rejected("already_handed_out", _("This coupon was already handed out."))
    try:
        with transaction.atomic():
            member = member_selectors.member_by_phone(brand_id=block.brand_id, phone=phone)
            if member is None:
                member = member_services.join_member(
                    brand_id=block.brand_id,
                    phone=phone,
                    source="store",
                    store=block.store,
                    joined_at=handed_at,
                )
            coupon_services.check_claimable(template, member, now=handed_at)
            coupon_services.take_member_slot(template, member)
            Coupon.objects.filter(pk=coupon.pk).update(
                member=member,
                status=CouponStatus.CLAIMED,
                claim_via=ClaimVia.OFFLINE,
                claimed_by_id=staff_id or block.holder_id,
                claimed_at=handed_at,
            )
            events.publish(
                "coupon.claimed",
                brand=block.brand_id,
                store=block.store_id,
                coupon=coupon.pk,
                template=template.pk,
                campaign=template.campaign_id,
                member=member.pk,
                via=ClaimVia.OFFLINE,
            )
    except DomainError as exc:
        return rejected(exc.code, exc.message)
    return Outcome(client_id, code, OfflineOutcome.ACCEPTED)


def _replay_block(block: OfflineBlock, handouts: list) -> list[Outcome]:
    outcomes = []
    for raw in handouts:
        client_id, code, phone, _when = _handout_fields(raw)
        coupon = (
            Coupon.objects.filter(block=block, code=code).select_related("member").first() if code else None
        )
        digest = member_selectors.phone_hash_or_none(phone)
        if coupon is not None and coupon.member_id and digest and coupon.member.phone_hash == digest:
            outcomes.append(Outcome(client_id, code, OfflineOutcome.ACCEPTED))
        else:
            outcomes.append(
                Outcome(
                    client_id,
                    code,
                    OfflineOutcome.REJECTED,
                    _("This block was synced already; this coupon was not given to this member."),
                    "block_synced",
                )
            )
    return outcomes
