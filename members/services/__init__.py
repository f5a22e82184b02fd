"""Use cases of members: join, update, reveal (audited); tiers, the points ledger, consent."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from retail import audit, events
from retail.choices import AuditAction
from retail.errors import Conflict, DomainError, InvalidInput

from .. import pii
from ..choices import ConsentChannel, ConsentSource, MemberSource, PointsKind
from ..models import ConsentRecord, Member, PointsEntry, Tier

CONSENT_FIELDS = ("consent_call", "consent_sms", "consent_chat")

# Points earned per whole CNY of an order's total (after discounts), rounded down.
# One rate for every brand for now (docs/events.md, "Points from orders").
POINTS_PER_CNY = 1


def next_member_no(*, brand_id: int) -> str:
    """Member numbers read M + a sequence per brand; gaps are fine, duplicates are not."""
    last = (
        Member.objects.filter(brand_id=brand_id, member_no__startswith="M")
        .order_by("-id")
        .values_list("member_no", flat=True)
        .first()
    )
    n = int(last[1:]) + 1 if last and last[1:].isdigit() else 1
    return f"M{n:08d}"


def join_member(
    *,
    brand_id: int,
    phone: str,
    name: str = "",
    external_id: str | None = None,
    source: str = "store",
    store=None,
    guide=None,
    joined_at: datetime | None = None,
    consent_source: str | None = None,
    **consents: bool,
) -> Member:
    """A new member joins the brand; a phone already known to the brand is a Conflict.
    Each consent granted at joining is the first entry of that channel's history."""
    if store is not None and store.brand_id != brand_id:
        raise InvalidInput("other_brand", _("Unknown store."), fields={"store": [_("Not found.")]})
    member = Member(
        brand_id=brand_id,
        external_id=external_id or None,
        source=source,
        store=store,
        guide=guide,
        joined_at=joined_at or timezone.now(),
        **{k: bool(v) for k, v in consents.items() if k in CONSENT_FIELDS},
    )
    try:
        member.set_phone(phone)
    except pii.InvalidPhone as exc:
        raise InvalidInput(
            "invalid_phone",
            _("Not a valid phone number."),
            fields={"phone": [_("Not a valid phone number.")]},
        ) from exc
    member.set_name(name)
    for attempt in range(3):
        member.member_no = next_member_no(brand_id=brand_id)
        try:
            with transaction.atomic():
                member.save()
                _record_join_consents(member, consent_source or _consent_source_for(member.source))
                audit.record(AuditAction.CREATE, member, after=audit.snapshot(member))
                events.publish(
                    "member.joined",
                    brand=brand_id,
                    store=member.store_id,
                    member=member.pk,
                    source=member.source,
                    guide=member.guide_id,
                    joined_at=member.joined_at,
                )
            return member
        except IntegrityError as exc:
            member.pk = None
            if Member.objects.filter(brand_id=brand_id, phone_hash=member.phone_hash).exists():
                raise Conflict(
                    "duplicate_phone",
                    _("A member with this phone already exists."),
                    fields={"phone": [_("Already a member.")]},
                ) from exc
            if external_id and Member.objects.filter(brand_id=brand_id, external_id=external_id).exists():
                raise Conflict(
                    "duplicate_external_id",
                    _("A member with this external id already exists."),
                    fields={"external_id": [_("Already used.")]},
                ) from exc
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


RECRUITMENT_FIELDS = ("external_id", "source", "store", "guide", "joined_at")


def update_member(*, member: Member, consent_source: str = ConsentSource.STORE, **fields: Any) -> Member:
    """Change identity (phone, name, external id), recruitment or consent flags (audited).

    A changed consent flag is recorded in the consent history (as `record_consent` does,
    with `consent_source`). A phone or external id another member of the brand holds is a
    Conflict; a store of another brand is refused."""
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=member.pk)
        before = audit.snapshot(member)
        if fields.get("phone"):
            try:
                member.set_phone(fields["phone"])
            except pii.InvalidPhone as exc:
                raise InvalidInput(
                    "invalid_phone",
                    _("Not a valid phone number."),
                    fields={"phone": [_("Not a valid phone number.")]},
                ) from exc
        if "name" in fields:
            member.set_name(fields["name"])
        store = fields.get("store")
        if store is not None and store.brand_id != member.brand_id:
            raise InvalidInput("other_brand", _("Unknown store."), fields={"store": [_("Not found.")]})
        for key in RECRUITMENT_FIELDS:
            if key in fields:
                setattr(member, key, fields[key] or None if key == "external_id" else fields[key])
        consent_changes = [
            (key.removeprefix("consent_"), bool(fields[key]))
            for key in CONSENT_FIELDS
            if key in fields and bool(fields[key]) != getattr(member, key)
        ]
        for channel, granted in consent_changes:
            _write_consent(member, channel=channel, granted=granted, source=consent_source)
        try:
            with transaction.atomic():
                member.save()
        except IntegrityError as exc:
            raise Conflict(
                "duplicate_member",
                _("Another member of the brand has this phone or external id."),
                fields={"phone": [_("Already a member.")]},
            ) from exc
        audit.record(AuditAction.UPDATE, member, before=before, after=audit.snapshot(member))
        events.publish("member.updated", brand=member.brand_id, store=member.store_id, member=member.pk)
        for channel, granted in consent_changes:
            _publish_consent_changed(member, channel=channel, granted=granted, source=consent_source)
    return member


def reveal_member_phone(*, member: Member, reason: str = "") -> str:
    """The full phone number, for someone allowed to see it. Every reveal is audited."""
    phone = pii.decrypt(member.phone_encrypted)
    audit.record(AuditAction.REVEAL, member, message=reason or "phone revealed")
    return phone


def rotate_member_keys(
    *,
    brand_id: int | None = None,
    batch_size: int = 1000,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Re-encrypt PII under the newest key; returns how many members were rewritten.

    Each batch is its own transaction holding row locks on just that batch, so the site
    keeps serving and a concurrent phone change is never overwritten with the old number.
    Safe to run again (every row ends under the newest key). `on_batch(done)` reports
    progress after each committed batch."""
    qs = Member.objects.all() if brand_id is None else Member.objects.filter(brand_id=brand_id)
    done = 0
    last_id = 0
    while True:
        with transaction.atomic():
            batch = list(
                qs.filter(pk__gt=last_id)
                .order_by("pk")
                .select_for_update()
                .only("pk", "phone_encrypted", "name_encrypted")[:batch_size]
            )
            if not batch:
                return done
            for m in batch:
                m.phone_encrypted = pii.rotate(m.phone_encrypted)
                m.name_encrypted = pii.rotate(m.name_encrypted)
            Member.objects.bulk_update(batch, ["phone_encrypted", "name_encrypted"])
        done += len(batch)
        last_id = batch[-1].pk
        if on_batch is not None:
            on_batch(done)


# --- consent ------------------------------------------------------------------------------


def _consent_source_for(member_source: str) -> str:
    return {
        MemberSource.PARTNER: ConsentSource.API,
        MemberSource.IMPORT: ConsentSource.IMPORT,
    }.get(member_source, ConsentSource.STORE)


def _write_consent(member: Member, *, channel: str, granted: bool, source: str) -> ConsentRecord:
    """Append to the history and set the flag on `member` (the caller saves it, holding
    the member's row lock)."""
    ctx = audit.current_context()
    setattr(member, f"consent_{channel}", granted)
    return ConsentRecord.objects.create(
        brand_id=member.brand_id,
        member=member,
        channel=channel,
        granted=granted,
        source=source,
        actor_id=ctx.user_id,
        actor_label=ctx.actor_label[:150],
    )


def _record_join_consents(member: Member, source: str) -> None:
    ctx = audit.current_context()
    ConsentRecord.objects.bulk_create(
        ConsentRecord(
            brand_id=member.brand_id,
            member=member,
            channel=channel,
            granted=True,
            source=source,
            actor_id=ctx.user_id,
            actor_label=ctx.actor_label[:150],
        )
        for channel in ConsentChannel.values
        if getattr(member, f"consent_{channel}")
    )


def _publish_consent_changed(member: Member, *, channel: str, granted: bool, source: str) -> None:
    events.publish(
        "member.consent_changed",
        brand=member.brand_id,
        store=member.store_id,
        member=member.pk,
        channel=channel,
        granted=granted,
        source=source,
    )


def record_consent(*, member: Member, channel: str, granted: bool, source: str) -> ConsentRecord:
    """Record a member's consent statement for one channel and set their flag (audited).

    Every statement is kept as evidence, also one that repeats the current choice; only an
    actual change is audited and announced as `member.consent_changed`."""
    if channel not in ConsentChannel.values:
        raise InvalidInput(
            "invalid_channel", _("Unknown channel."), fields={"channel": [_("Unknown channel.")]}
        )
    if source not in ConsentSource.values:
        raise InvalidInput("invalid_source", _("Unknown source."), fields={"source": [_("Unknown source.")]})
    granted = bool(granted)
    field = f"consent_{channel}"
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=member.pk)
        changed = getattr(member, field) != granted
        before = {field: getattr(member, field)}
        record = _write_consent(member, channel=channel, granted=granted, source=source)
        if changed:
            member.save(update_fields=[field, "updated_at"])
            audit.record(
                AuditAction.UPDATE,
                member,
                before=before,
                after={field: granted},
                message=f"consent {channel} {'granted' if granted else 'withdrawn'} ({source})",
            )
            _publish_consent_changed(member, channel=channel, granted=granted, source=source)
    return record


# --- tiers --------------------------------------------------------------------------------


def define_tier(*, brand_id: int, code: str, name: str, threshold_points: int, rank: int) -> Tier:
    """Create or change (by code) one of the brand's tiers; members' tiers are recomputed
    after commit. A better rank must need more points than every lower one."""
    code = (code or "").strip()
    if not code:
        raise InvalidInput("invalid", _("A tier needs a code."), fields={"code": [_("Required.")]})
    if threshold_points < 0 or rank < 0:
        raise InvalidInput("invalid", _("Threshold and rank cannot be negative."))
    with transaction.atomic():
        others = list(Tier.objects.select_for_update().filter(brand_id=brand_id).exclude(code=code))
        check_tier_order(others, threshold_points=threshold_points, rank=rank)
        tier = Tier.objects.filter(brand_id=brand_id, code=code).first()
        before = audit.snapshot(tier) if tier else None
        if tier is None:
            tier = Tier(brand_id=brand_id, code=code)
        tier.name, tier.threshold_points, tier.rank = name, threshold_points, rank
        tier.save()
        audit.record(
            AuditAction.UPDATE if before else AuditAction.CREATE,
            tier,
            before=before,
            after=audit.snapshot(tier),
        )
        _enqueue_tier_recompute(brand_id)  # after commit
    return tier


def check_tier_order(others: list[Tier], *, threshold_points: int, rank: int) -> None:
    """Refuse a rank or threshold another tier has, or a rank out of order with its threshold."""
    for other in others:
        if other.rank == rank or other.threshold_points == threshold_points:
            raise Conflict(
                "duplicate_tier",
                _("Another tier of the brand has this rank or threshold."),
                fields={"rank": [_("Already used.")]},
            )
        if (other.rank < rank) != (other.threshold_points < threshold_points):
            raise InvalidInput(
                "tier_order",
                _("A better tier (higher rank) must need more points."),
                fields={"threshold_points": [_("Out of order with tier %(code)s.") % {"code": other.code}]},
            )


def _enqueue_tier_recompute(brand_id: int) -> None:
    """Re-tier the brand's members off the request: a long job at millions of members."""
    from retail.jobs import enqueue_job

    from ..tasks import recompute_member_tiers_task

    enqueue_job(recompute_member_tiers_task, brand_id)


def tier_for(tiers: list[Tier], lifetime_points: int) -> Tier | None:
    """The best tier (highest rank) whose threshold the lifetime points reach."""
    reached = [t for t in tiers if t.threshold_points <= lifetime_points]
    return max(reached, key=lambda t: t.rank, default=None)


def _set_tier(member: Member, tiers: list[Tier]) -> tuple[int | None, int | None] | None:
    """Put the member in the tier their lifetime points reach; (old, new) ids on a change."""
    new = tier_for(tiers, member.lifetime_points)
    new_id = new.pk if new else None
    if new_id == member.tier_id:
        return None
    old_id = member.tier_id
    member.tier = new
    return old_id, new_id


def _publish_tier_changed(member: Member, change: tuple[int | None, int | None], tiers: list[Tier]) -> None:
    codes = {t.pk: t.code for t in tiers}
    events.publish(
        "member.tier_changed",
        brand=member.brand_id,
        store=member.store_id,
        member=member.pk,
        from_tier=codes.get(change[0]),
        to_tier=codes.get(change[1]),
        lifetime_points=member.lifetime_points,
    )


def recompute_member_tiers(*, brand_id: int, batch_size: int = 1000) -> int:
    """Put every member of the brand in the tier the current rules give them, a batch per
    transaction; returns how many changed tier. Safe to run again."""
    tiers = list(Tier.objects.filter(brand_id=brand_id))
    changed = 0
    last_id = 0
    while True:
        with transaction.atomic():
            batch = list(
                Member.objects.filter(brand_id=brand_id, pk__gt=last_id)
                .order_by("pk")
                .select_for_update()
                .only("pk", "brand_id", "store_id", "tier_id", "lifetime_points")[:batch_size]
            )
            if not batch:
                return changed
            moved = []
            for member in batch:
                change = _set_tier(member, tiers)
                if change:
                    moved.append(member)
                    _publish_tier_changed(member, change, tiers)
            Member.objects.bulk_update(moved, ["tier"])
            changed += len(moved)
        last_id = batch[-1].pk


# --- the points ledger --------------------------------------------------------------------


class InsufficientPoints(DomainError):
    status = 409
    code = "insufficient_points"


@dataclass(frozen=True)
class _Change:
    kind: str
    points: int  # signed
    reason: str = ""
    order_id: int | None = None


def _apply_points(member_id: int, change: _Change) -> PointsEntry:
    """Append one entry and move the member's balance, lifetime points and tier with it.

    Call inside a transaction; it takes the member's row lock (SELECT ... FOR UPDATE), so
    concurrent changes for one member queue up and none is lost."""
    member = Member.objects.select_for_update().get(pk=member_id)
    balance = member.points_balance + change.points
    if balance < 0:
        raise InsufficientPoints(
            message=_("Not enough points: the balance is %(balance)s.") % {"balance": member.points_balance},
            fields={"points": [_("More than the balance.")]},
        )
    ctx = audit.current_context()
    entry = PointsEntry.objects.create(
        brand_id=member.brand_id,
        member=member,
        kind=change.kind,
        points=change.points,
        balance_after=balance,
        reason=change.reason,
        order_id=change.order_id,
        actor_id=ctx.user_id,
        actor_label=ctx.actor_label[:150],
    )
    member.points_balance = balance
    if change.kind in (PointsKind.EARN, PointsKind.ADJUST):
        # lifetime points count what was earned (and corrected); spending keeps the tier
        member.lifetime_points += change.points
    tiers = list(Tier.objects.filter(brand_id=member.brand_id))
    tier_change = _set_tier(member, tiers)
    member.save(update_fields=["points_balance", "lifetime_points", "tier", "updated_at"])
    events.publish(
        "member.points_changed",
        brand=member.brand_id,
        store=member.store_id,
        member=member.pk,
        entry=entry.pk,
        kind=entry.kind,
        points=entry.points,
        balance=balance,
        order=change.order_id,
    )
    if tier_change:
        _publish_tier_changed(member, tier_change, tiers)
    return entry


def _positive(points: Any) -> int:
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise InvalidInput(
            "invalid_points",
            _("Points must be a positive whole number."),
            fields={"points": [_("Must be positive.")]},
        )
    return points


def earn_points(*, member: Member, points: int, order_id: int | None = None, reason: str = "") -> PointsEntry:
    """Credit points to a member. With an order, the order earns once: a repeat returns
    the first entry and changes nothing."""
    points = _positive(points)
    try:
        with transaction.atomic():
            if order_id is not None:
                # take the member's lock first, so a concurrent delivery of the same order
                # waits here and then finds the entry this one wrote
                Member.objects.select_for_update().only("pk").get(pk=member.pk)
                existing = PointsEntry.objects.filter(
                    member_id=member.pk, order_id=order_id, kind=PointsKind.EARN
                ).first()
                if existing:
                    return existing
            return _apply_points(member.pk, _Change(PointsKind.EARN, points, reason, order_id))
    except IntegrityError:
        # the unique (member, order, kind) constraint is the backstop if the lock was bypassed
        existing = PointsEntry.objects.filter(
            member_id=member.pk, order_id=order_id, kind=PointsKind.EARN
        ).first()
        if order_id is None or existing is None:
            raise
        return existing


def points_for_total(total: Decimal | str) -> int:
    """Points an order total earns: POINTS_PER_CNY per whole CNY, rounded down."""
    return max(0, math.floor(Decimal(str(total)) * POINTS_PER_CNY))


def earn_points_for_order(*, order_id: int) -> PointsEntry | None:
    """The order's member earns points for its total, once per order (a redelivered
    `order.created` is a no-op). None when the order has no member or earns nothing."""
    from retail.models import Order  # the sales ledger's row; members never call its services

    order = Order.objects.filter(pk=order_id).only("pk", "brand_id", "member_id", "total").first()
    if order is None or order.member_id is None:
        return None
    member = Member.objects.filter(pk=order.member_id, brand_id=order.brand_id).first()
    points = points_for_total(order.total)
    if member is None or points <= 0:
        return None
    return earn_points(member=member, points=points, order_id=order.pk, reason=f"order {order.pk}")


def spend_points(
    *, member: Member, points: int, reason: str = "", order_id: int | None = None
) -> PointsEntry:
    """Debit points (a redemption); more than the balance is refused (409
    insufficient_points) and writes nothing."""
    points = _positive(points)
    with transaction.atomic():
        return _apply_points(member.pk, _Change(PointsKind.SPEND, -points, reason.strip(), order_id))


def adjust_points(*, member: Member, points: int, reason: str) -> PointsEntry:
    """Correct a balance by hand, up or down, with a reason (audited). A downward
    correction below zero is refused like a spend."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            "reason_required", _("An adjustment needs a reason."), fields={"reason": [_("Required.")]}
        )
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        raise InvalidInput(
            "invalid_points",
            _("Points must be a non-zero whole number."),
            fields={"points": [_("Must not be 0.")]},
        )
    with transaction.atomic():
        entry = _apply_points(member.pk, _Change(PointsKind.ADJUST, points, reason[:255]))
        audit.record(
            AuditAction.UPDATE,
            entry.member,
            after={"points": points, "balance": entry.balance_after},
            message=f"points adjusted {points:+d}: {reason}",
        )
    return entry


def expire_points(*, member: Member, points: int, reason: str = "") -> PointsEntry | None:
    """Let up to `points` lapse (never below zero); None when there is nothing to expire."""
    points = _positive(points)
    with transaction.atomic():
        locked = Member.objects.select_for_update().only("pk", "points_balance").get(pk=member.pk)
        lapsing = min(points, locked.points_balance)
        if lapsing <= 0:
            return None
        return _apply_points(member.pk, _Change(PointsKind.EXPIRE, -lapsing, reason.strip()))


# --- points expiry ----------------------------------------------------------------------------


def _lapsing_points_sql(member_filter: str) -> str:
    """Per member: credits older than the cutoff minus every debit (spend, expiry, downward
    adjustment), i.e. what is left of the old credits when debits use the oldest points
    first (FIFO). Positive means that many points lapse."""
    table = PointsEntry._meta.db_table
    return (
        f"SELECT member_id, SUM(CASE WHEN points > 0 AND created_at < %s THEN points ELSE 0 END)"
        f" + SUM(CASE WHEN points < 0 THEN points ELSE 0 END) AS lapsing"
        f" FROM {table} WHERE {member_filter} GROUP BY member_id"
    )


def expire_member_points(*, member_id: int, cutoff: datetime) -> PointsEntry | None:
    """Expire a member's points credited before `cutoff` that were not used (FIFO). Computed
    under the member's row lock, so a concurrent spend is counted; a rerun expires nothing."""
    from django.db import connection

    with transaction.atomic():
        member = Member.objects.select_for_update().only("pk").get(pk=member_id)
        with connection.cursor() as cursor:
            cursor.execute(_lapsing_points_sql("member_id = %s"), [cutoff, member.pk])
            row = cursor.fetchone()
        lapsing = int(row[1] or 0) if row else 0
        if lapsing <= 0:
            return None
        day = timezone.localdate(cutoff).isoformat()
        return expire_points(member=member, points=lapsing, reason=f"unused points earned before {day}")


def expire_lapsed_points(*, brand_id: int, as_of: datetime | None = None) -> int:
    """Expire, for every member of the brand, the points credited more than
    POINTS_EXPIRE_AFTER_DAYS before `as_of` and not used since. One set-based query finds
    the members concerned; each is then expired under its own lock. Returns how many
    members lost points."""
    from django.conf import settings
    from django.db import connection

    cutoff = (as_of or timezone.now()) - timezone.timedelta(days=settings.POINTS_EXPIRE_AFTER_DAYS)
    sql = f"SELECT member_id FROM ({_lapsing_points_sql('brand_id = %s')}) AS t WHERE lapsing > 0"
    with connection.cursor() as cursor:
        cursor.execute(sql, [cutoff, brand_id])
        member_ids = [row[0] for row in cursor.fetchall()]
    return sum(1 for member_id in member_ids if expire_member_points(member_id=member_id, cutoff=cutoff))
