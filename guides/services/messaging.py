"""Messages to members: 1:1 from the workbench (`send_message`), one member from any
workbench feature (`send_to_member`, used by livestream reminders too) and broadcasts to a
group (`create_broadcast`, then `run_broadcast` in a job), with delivery reports from the
provider (`receive_delivery_report`).

Rules at send time, in this order: consent on the channel (consent_sms / consent_chat) →
skipped "no_consent"; quiet hours (GuideSettings.quiet_start..quiet_end, Asia/Shanghai, the
window may wrap midnight) → skipped "quiet_hours"; the frequency cap (at most
`frequency_cap` messages queued / sent / delivered per member in the last
`frequency_window_days`) → skipped "frequency_cap". A skipped message is still a Message row
(status skipped, with the reason), so pages count and show it.

Exactness of the cap under concurrency: every check-and-insert (a 1:1 send, or one chunk of
a broadcast) runs in a transaction that first takes a per-brand transaction-level advisory
lock on PostgreSQL (`pg_advisory_xact_lock(LOCK_NAMESPACE, brand_id)`), so two broadcasts
and 1:1 sends to the same brand's members cannot both count the same "2 of 3" and both
insert. Why this and not row locks on the members: a broadcast chunk is one INSERT … SELECT
over thousands of members; locking those member rows would block unrelated member writes
(points, profile updates) and invites deadlocks between overlapping audiences in different
orders, while one brand-wide lock held for one chunk (milliseconds) is cheap, cannot
deadlock (one lock) and leaves the member table alone. On SQLite (the embedded default) the
transaction starts with a write, which takes the database's single write lock: the same
effect. The statement that counts runs after the lock is granted, so under READ COMMITTED
it sees every message the previous holder committed."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members import pii
from members.models import Member, Segment, SegmentMember, Tier
from retail import events
from retail.choices import Role
from retail.errors import DomainError
from retail.jobs import enqueue_job
from retail.models import Store
from retail.tenancy import Principal

from ..choices import (
    AudienceKind,
    BroadcastStatus,
    InteractionKind,
    MessageChannel,
    MessageStatus,
    SkipReason,
)
from ..models import Broadcast, GuideSettings, Interaction, Message
from ..providers import messaging as providers
from .common import NotAllowed, acting_guide, settings_for
from .interactions import record_interaction

logger = logging.getLogger(__name__)

LOCK_NAMESPACE = 0x6775  # "gu": the guide workbench's advisory locks
CHUNK = settings.GUIDES_BROADCAST_CHUNK
DELIVERY_BATCH = 1000
COUNTED = (MessageStatus.QUEUED, MessageStatus.SENT, MessageStatus.DELIVERED)
CONSENT_FIELD = {MessageChannel.SMS: "consent_sms", MessageChannel.CHAT: "consent_chat"}
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


# --- rules ------------------------------------------------------------------------------------


def in_quiet_hours(cfg: GuideSettings, at: datetime | None = None) -> bool:
    """Whether `at` falls in the brand's quiet hours (Asia/Shanghai); the window may wrap
    midnight (21:00–09:00). Equal start and end: no quiet hours."""
    local = (at or timezone.now()).astimezone(LOCAL_TZ).time()
    start, end = cfg.quiet_start, cfg.quiet_end
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def window_start(cfg: GuideSettings, now: datetime) -> datetime:
    return now - timedelta(days=cfg.frequency_window_days)


def _lock_brand(brand_id: int) -> None:
    """Serialise cap checks of one brand until the transaction ends (see the docstring)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, brand_id])
        else:  # SQLite: a first write takes the database's write lock for the transaction
            cursor.execute(
                "UPDATE guides_guidesettings SET updated_at = updated_at WHERE brand_id = %s", [brand_id]
            )


def _skip_reason(*, member_id: int, channel: str, cfg: GuideSettings, now: datetime) -> str:
    consent = Member.objects.filter(pk=member_id).values_list(CONSENT_FIELD[channel], flat=True).first()
    if not consent:
        return SkipReason.NO_CONSENT
    if in_quiet_hours(cfg, now):
        return SkipReason.QUIET_HOURS
    sent = Message.objects.filter(
        member_id=member_id, sent_at__gte=window_start(cfg, now), status__in=COUNTED
    ).count()
    if sent >= cfg.frequency_cap:
        return SkipReason.FREQUENCY_CAP
    return ""


# --- one member -------------------------------------------------------------------------------


def send_to_member(
    *,
    brand_id: int,
    member: Member,
    channel: str,
    body: str,
    guide_id: int | None = None,
    store_id: int | None = None,
    broadcast: Broadcast | None = None,
    make_interaction: Callable[[], Interaction] | None = None,
) -> Message:
    """Send one message to one member under the send-time rules; the Message row (queued, or
    skipped with the reason). The provider gets it after commit. With `broadcast`, a
    member gets that broadcast's message at most once (a repeat returns the first row).
    `make_interaction` (1:1 sends) records the interaction when the message goes out."""
    if channel not in CONSENT_FIELD:
        raise DomainError("bad_channel", _("Unknown channel."))
    body = (body or "").strip()
    if not body:
        raise DomainError(
            "empty", _("Write a message first."), fields={"body": [_("Write a message first.")]}
        )
    if member.brand_id != brand_id:
        raise DomainError("wrong_brand", _("No such member."), status=404)
    cfg = settings_for(brand_id)
    now = timezone.now()
    with transaction.atomic():
        _lock_brand(brand_id)
        if broadcast is not None:  # checked under the lock: two racing calls send once
            existing = Message.objects.filter(broadcast=broadcast, member=member).first()
            if existing is not None:
                return existing
        reason = _skip_reason(member_id=member.pk, channel=channel, cfg=cfg, now=now)
        interaction = make_interaction() if (make_interaction and not reason) else None
        message = Message.objects.create(
            brand_id=brand_id,
            store_id=store_id or member.store_id,
            guide_id=guide_id,
            member=member,
            broadcast=broadcast,
            interaction=interaction,
            channel=channel,
            body=body,
            status=MessageStatus.SKIPPED if reason else MessageStatus.QUEUED,
            skip_reason=reason,
            provider="" if reason else cfg.messaging_provider,
            sent_at=None if reason else now,
        )
        if not reason:
            enqueue_job(_deliver_task(), [message.pk])
    if not connection.in_atomic_block:
        message.refresh_from_db()
    return message


def send_message(
    principal: Principal, *, member: Member, channel: str, body: str, client_id: uuid.UUID | str | None = None
) -> Message:
    """A guide's 1:1 message from the workbench (`member` from a scoped lookup): the rules
    apply; a message that goes out is also an interaction (kind message). A repeat with the
    same client_id returns the first message."""
    if client_id is not None:
        try:
            client_id = uuid.UUID(str(client_id))
        except ValueError:
            raise DomainError("bad_client_id", _("Bad client id.")) from None
        earlier = (
            Message.objects.filter(interaction__brand_id=member.brand_id, interaction__client_id=client_id)
            .order_by("id")
            .first()
        )
        if earlier is not None:
            return earlier
    guide_id, store_id = acting_guide(principal, member)

    def make_interaction() -> Interaction:
        row, _created = record_interaction(
            principal,
            member=member,
            kind=InteractionKind.MESSAGE,
            note=body.strip()[:500],
            client_id=client_id,
        )
        return row

    return send_to_member(
        brand_id=member.brand_id,
        member=member,
        channel=channel,
        body=body,
        guide_id=guide_id,
        store_id=store_id,
        make_interaction=make_interaction,
    )


def _deliver_task():
    from ..tasks.messaging import deliver_messages_task

    return deliver_messages_task


def deliver_messages(*, message_ids: list[int]) -> int:
    """Hand queued messages to their providers; a provider error marks them failed. The
    member's number is decrypted only here, to hand it over. Idempotent: only queued
    messages are sent. The number handed over."""
    rows = list(
        Message.objects.filter(pk__in=message_ids, status=MessageStatus.QUEUED)
        .select_related("member")
        .order_by("id")
    )
    by_provider: dict[str, list[Message]] = defaultdict(list)
    for row in rows:
        by_provider[row.provider].append(row)
    handed = 0
    for name, batch in by_provider.items():
        handed += _hand_over(name, batch)
    return handed


def _hand_over(provider_name: str, batch: list[Message]) -> int:
    outgoing = [
        providers.Outgoing(
            message_ref=f"msg-{m.pk}",
            channel=m.channel,
            body=m.body,
            to_phone=pii.decrypt(m.member.phone_encrypted) if m.channel == MessageChannel.SMS else "",
            to_member_ref=m.member.member_no if m.channel == MessageChannel.CHAT else "",
        )
        for m in batch
    ]
    try:
        with transaction.atomic():
            refs = providers.get_provider(provider_name).send_batch(outgoing)
            _mark_sent([(m.pk, refs.get(f"msg-{m.pk}", f"msg-{m.pk}")) for m in batch])
    except providers.ProviderError as exc:
        logger.warning("messaging provider %s failed for %d messages: %s", provider_name, len(batch), exc)
        Message.objects.filter(pk__in=[m.pk for m in batch], status=MessageStatus.QUEUED).update(
            status=MessageStatus.FAILED, error=str(exc)[:200]
        )
        _recount({m.broadcast_id for m in batch if m.broadcast_id})
        return 0
    return len(batch)


def _mark_sent(rows: list[tuple[int, str]]) -> None:
    """queued → sent with the provider's references, one statement per batch (a CASE per
    row, as bulk_update writes it, is quadratic on a 1,000-row batch)."""
    if not rows:
        return
    values = ", ".join(["(%s, %s)"] * len(rows))
    params = [value for row in rows for value in row]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"""UPDATE guides_message AS m SET status = 'sent', provider_ref = v.ref
                    FROM (VALUES {values}) AS v(id, ref)
                    WHERE m.id = v.id AND m.status = 'queued'""",
                params,
            )
        else:
            cursor.execute(
                f"""WITH v(id, ref) AS (VALUES {values})
                    UPDATE guides_message SET status = 'sent',
                        provider_ref = (SELECT v.ref FROM v WHERE v.id = guides_message.id)
                    WHERE id IN (SELECT id FROM v) AND status = 'queued'""",
                params,
            )


def receive_delivery_report(provider_name: str, body: bytes, headers) -> dict:
    """Apply a provider's delivery reports (one or a batch): sent → delivered / failed. A bad
    signature raises BadSignature and changes nothing; a repeat changes nothing."""
    if provider_name not in providers.PROVIDERS:
        raise providers.BadPayload("unknown provider")
    provider = providers.get_provider(provider_name)
    payload = provider.verify_callback(body, headers)
    updates = provider.parse_reports(payload)
    applied = 0
    with transaction.atomic():
        for status in ("delivered", "failed"):
            group = [u for u in updates if u.status == status]
            if not group:
                continue
            refs = [u.provider_ref for u in group]
            fields = {"status": status}
            if status == "delivered":
                fields["delivered_at"] = max(u.at for u in group)
            else:
                fields["error"] = group[0].error or "failed"
            for start in range(0, len(refs), DELIVERY_BATCH):
                applied += (
                    Message.objects.filter(
                        provider=provider_name,
                        provider_ref__in=refs[start : start + DELIVERY_BATCH],
                        status__in=[MessageStatus.QUEUED, MessageStatus.SENT],
                    )
                    .exclude(provider_ref="")  # lets PostgreSQL use the partial unique index
                    .update(**fields)
                )
        if applied:
            broadcast_ids = _broadcasts_of(provider_name, updates)
            _recount(broadcast_ids)
    return {"result": "ok", "applied": applied, "repeat": len(updates) - applied}


def _broadcasts_of(provider_name: str, updates) -> set[int]:
    found: set[int] = set()
    refs = [u.provider_ref for u in updates]
    for start in range(0, len(refs), DELIVERY_BATCH):
        found |= set(
            Message.objects.filter(
                provider=provider_name,
                provider_ref__in=refs[start : start + DELIVERY_BATCH],
                broadcast__isnull=False,
            )
            .exclude(provider_ref="")
            .values_list("broadcast_id", flat=True)
            .distinct()
        )
    return found


# --- broadcasts -------------------------------------------------------------------------------


def create_broadcast(
    principal: Principal,
    *,
    channel: str,
    audience: str,
    body: str,
    segment: Segment | None = None,
    tier: Tier | None = None,
    store: Store | None = None,
) -> Broadcast:
    """A broadcast, queued; a job sends it. A guide broadcasts to their own members only; a
    manager to a store of theirs (its members, or a segment / a tier within it); HQ
    brand-wide or to one store."""
    brand_id = principal.brand_id
    if brand_id is None:
        raise NotAllowed(message=_("Choose a brand role first."))
    if channel not in CONSENT_FIELD:
        raise DomainError("bad_channel", _("Unknown channel."), fields={"channel": [_("Unknown channel.")]})
    if audience not in AudienceKind.values:
        raise DomainError(
            "bad_audience", _("Unknown audience."), fields={"audience": [_("Unknown audience.")]}
        )
    body = (body or "").strip()
    if not body:
        raise DomainError(
            "empty", _("Write a message first."), fields={"body": [_("Write a message first.")]}
        )
    guide_id = None
    if principal.role == Role.GUIDE:
        if audience != AudienceKind.MY_MEMBERS:
            raise NotAllowed(message=_("A guide broadcasts to their own members only."))
        guide_id = principal.guide_user_id
        store_id = next(iter(principal.store_ids)) if principal.store_ids else None
    else:
        if audience == AudienceKind.MY_MEMBERS:
            raise DomainError(
                "bad_audience",
                _("“My members” is for guides; choose the store's members, a segment or a tier."),
                fields={"audience": [_("Choose the store's members, a segment or a tier.")]},
            )
        store_id = store.pk if store is not None else None
        if store_id is not None and (store.brand_id != brand_id or not principal.may_see_store(store_id)):
            raise DomainError("bad_store", _("No such store."), status=404)
        if store_id is None and principal.store_ids is not None:
            if len(principal.store_ids) != 1:
                raise DomainError(
                    "store_required", _("Choose a store."), fields={"store": [_("Choose a store.")]}
                )
            store_id = next(iter(principal.store_ids))
        if audience == AudienceKind.STORE_MEMBERS and store_id is None:
            raise DomainError(
                "store_required", _("Choose a store."), fields={"store": [_("Choose a store.")]}
            )
    if audience == AudienceKind.SEGMENT:
        if segment is None or segment.brand_id != brand_id:
            raise DomainError(
                "segment_required", _("Choose a segment."), fields={"segment": [_("Choose a segment.")]}
            )
    else:
        segment = None
    if audience == AudienceKind.TIER:
        if tier is None or tier.brand_id != brand_id:
            raise DomainError("tier_required", _("Choose a tier."), fields={"tier": [_("Choose a tier.")]})
    else:
        tier = None
    from ..tasks.messaging import send_broadcast_task

    with transaction.atomic():
        row = Broadcast.objects.create(
            brand_id=brand_id,
            store_id=store_id,
            guide_id=guide_id,
            channel=channel,
            audience=audience,
            segment=segment,
            tier=tier,
            body=body,
            created_by_id=principal.user_id,
        )
        enqueue_job(send_broadcast_task, row.pk)
    return row


def audience_members(broadcast: Broadcast) -> QuerySet[Member]:
    """The members a broadcast targets (before the rules)."""
    qs = Member.objects.filter(brand_id=broadcast.brand_id)
    if broadcast.audience == AudienceKind.MY_MEMBERS:
        qs = qs.filter(guide_id=broadcast.guide_id)
    if broadcast.store_id is not None:
        qs = qs.filter(store_id=broadcast.store_id)
    if broadcast.audience == AudienceKind.SEGMENT:
        qs = qs.filter(
            pk__in=SegmentMember.objects.filter(segment_id=broadcast.segment_id).values("member_id")
        )
    elif broadcast.audience == AudienceKind.TIER:
        qs = qs.filter(tier_id=broadcast.tier_id)
    return qs


def _insert_chunk_sql(
    *, row: Broadcast, cfg: GuideSettings, audience: tuple[str, tuple], lo: int, hi: int, now: datetime
) -> tuple[str, list]:
    """One chunk of a broadcast as one INSERT … SELECT: the rules in SQL, in their order;
    members already holding this broadcast's message are left out (a retried job)."""
    audience_sql, audience_params = audience
    adapt = connection.ops.adapt_datetimefield_value
    consent = CONSENT_FIELD[row.channel]
    # OFFSET 0 keeps PostgreSQL from pulling the sub-query up, which would copy the CASE (and
    # its COUNT) into each of the four places that read `reason`
    fence = "OFFSET 0" if connection.vendor == "postgresql" else ""
    sql = f"""
INSERT INTO guides_message
    (brand_id, store_id, guide_id, member_id, broadcast_id, channel, body, status, skip_reason,
     provider, provider_ref, error, created_at, sent_at)
SELECT %s, r.store_id, r.guide_id, r.id, %s, %s, %s,
       CASE WHEN r.reason = '' THEN 'queued' ELSE 'skipped' END,
       r.reason,
       CASE WHEN r.reason = '' THEN %s ELSE '' END,
       '', '', %s,
       CASE WHEN r.reason = '' THEN %s ELSE NULL END
FROM (
    SELECT c.id, c.store_id, c.guide_id,
           CASE
               WHEN NOT c.{consent} THEN 'no_consent'
               WHEN %s THEN 'quiet_hours'
               WHEN (SELECT COUNT(*) FROM guides_message x
                     WHERE x.member_id = c.id AND x.sent_at >= %s
                       AND x.status IN ('queued', 'sent', 'delivered')) >= %s THEN 'frequency_cap'
               ELSE ''
           END AS reason
    FROM members_member c
    WHERE c.id IN ({audience_sql}) AND c.id >= %s AND c.id <= %s
      AND NOT EXISTS (SELECT 1 FROM guides_message e WHERE e.broadcast_id = %s AND e.member_id = c.id)
    {fence}
) r
WHERE 1 = 1
ON CONFLICT DO NOTHING
"""
    params = [
        row.brand_id,
        row.pk,
        row.channel,
        row.body,
        cfg.messaging_provider,
        adapt(now),
        adapt(now),
        in_quiet_hours(cfg, now),
        adapt(window_start(cfg, now)),
        cfg.frequency_cap,
        *audience_params,
        lo,
        hi,
        row.pk,
    ]
    return sql, params


def _chunk_bounds(qs: QuerySet[Member]) -> list[tuple[int, int]]:
    """(first id, last id) of consecutive CHUNK-sized runs of the audience, read by keyset."""
    bounds = []
    after = 0
    while True:
        ids = list(qs.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:CHUNK])
        if not ids:
            return bounds
        bounds.append((ids[0], ids[-1]))
        after = ids[-1]


def run_broadcast(*, broadcast_id: int) -> Broadcast:
    """Send a broadcast set-based: for each chunk of the audience one INSERT … SELECT applies
    the rules in SQL under the brand's lock; then the queued messages go to the provider in
    batches. Counts per reason on the row; `guide.broadcast_finished` at the end. A retried
    job inserts nothing twice (unique (broadcast, member)) and hands over only what is still
    queued."""
    row = Broadcast.objects.get(pk=broadcast_id)
    if row.status == BroadcastStatus.DONE:
        return row
    # a failed run may be run again: every step is idempotent
    Broadcast.objects.filter(pk=row.pk).update(status=BroadcastStatus.SENDING, error="")
    try:
        cfg = settings_for(row.brand_id)
        members = audience_members(row)
        bounds = _chunk_bounds(members)
        audience = members.order_by().values("pk").query.sql_with_params()
        for done, (lo, hi) in enumerate(bounds, start=1):
            sql, params = _insert_chunk_sql(
                row=row, cfg=cfg, audience=audience, lo=lo, hi=hi, now=timezone.now()
            )
            with transaction.atomic():
                _lock_brand(row.brand_id)
                with connection.cursor() as cursor:
                    cursor.execute(sql, params)
            Broadcast.objects.filter(pk=row.pk).update(progress=50 * done // len(bounds))
        _recount({row.pk})
        queued = Message.objects.filter(broadcast_id=row.pk, status=MessageStatus.QUEUED).count()
        handed, after = 0, 0
        while True:
            batch = list(
                Message.objects.filter(broadcast_id=row.pk, status=MessageStatus.QUEUED, pk__gt=after)
                .select_related("member")
                .order_by("pk")[:DELIVERY_BATCH]
            )
            if not batch:
                break
            after = batch[-1].pk
            by_provider: dict[str, list[Message]] = defaultdict(list)
            for message in batch:
                by_provider[message.provider].append(message)
            for name, group in by_provider.items():
                _hand_over(name, group)
            handed += len(batch)
            Broadcast.objects.filter(pk=row.pk).update(progress=min(99, 50 + 50 * handed // max(queued, 1)))
    except Exception as exc:
        logger.exception("broadcast %s failed", row.pk)
        Broadcast.objects.filter(pk=row.pk).update(status=BroadcastStatus.FAILED, error=str(exc)[:500])
        raise
    with transaction.atomic():
        _recount({row.pk})
        Broadcast.objects.filter(pk=row.pk).update(
            status=BroadcastStatus.DONE, progress=100, finished_at=timezone.now()
        )
        row.refresh_from_db()
        events.publish(
            "guide.broadcast_finished",
            brand=row.brand_id,
            store=row.store_id,
            broadcast=row.pk,
            channel=row.channel,
            targeted=row.targeted,
            sent=row.sent,
            skipped_no_consent=row.skipped_no_consent,
            skipped_quiet_hours=row.skipped_quiet_hours,
            skipped_frequency=row.skipped_frequency,
        )
    return row


def _recount(broadcast_ids: set[int]) -> None:
    """Set a broadcast's counters from its messages (exact, idempotent)."""
    for broadcast_id in broadcast_ids:
        counts = Message.objects.filter(broadcast_id=broadcast_id).aggregate(
            targeted=Count("id"),
            sent=Count("id", filter=~Q(status=MessageStatus.SKIPPED)),
            skipped_no_consent=Count("id", filter=Q(skip_reason=SkipReason.NO_CONSENT)),
            skipped_quiet_hours=Count("id", filter=Q(skip_reason=SkipReason.QUIET_HOURS)),
            skipped_frequency=Count("id", filter=Q(skip_reason=SkipReason.FREQUENCY_CAP)),
            delivered=Count("id", filter=Q(status=MessageStatus.DELIVERED)),
            failed=Count("id", filter=Q(status=MessageStatus.FAILED)),
        )
        Broadcast.objects.filter(pk=broadcast_id).update(**counts)


def deliver_stuck_messages(*, older_than_minutes: int = 10) -> int:
    """Hand over 1:1 messages still queued after a while (their after-commit hand-off was
    lost: a worker restart, a broker hiccup). Broadcasts hand over their own. The number."""
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    ids = list(
        Message.objects.filter(status=MessageStatus.QUEUED, broadcast__isnull=True, created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:DELIVERY_BATCH]
    )
    return deliver_messages(message_ids=ids) if ids else 0
