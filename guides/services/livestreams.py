"""Livestreams: managers schedule sessions (a host guide of the store, products of the brand,
a time in the future), mark them live / ended or cancel them; guides sign up their members
who agreed to be reminded on a channel; `send_due_reminders` (every minute) reminds them
through the messaging service, where consent, quiet hours and the frequency cap apply.

Never twice: the first run to reach a livestream claims it with a conditional UPDATE
(reminded_at IS NULL) and alone publishes `livestream.reminded`; each signup is claimed the
same way (its own reminded_at) in the transaction that sends its message, so two beats at
once, a retried task, or a late signup picked up by a later run never remind anyone twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.db import transaction
from django.db.models import F
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.models import Member
from retail import events
from retail.choices import Role
from retail.errors import DomainError, InvalidInput
from retail.models import Product, StaffRole, Store
from retail.tenancy import Principal

from ..choices import LivestreamStatus, MessageChannel, MessageStatus, Platform
from ..models import Livestream, LivestreamSignup
from .common import NotAllowed

logger = logging.getLogger(__name__)

CONSENT_FIELD = {MessageChannel.SMS: "consent_sms", MessageChannel.CHAT: "consent_chat"}
REMINDER_LANGUAGE = "zh-hans"  # members read the reminder in Chinese
LOOKAHEAD = dt.timedelta(hours=24)  # remind_minutes_before is at most this far ahead


def _require_manager(principal: Principal) -> None:
    if not (principal.is_superuser or principal.role in (Role.HQ_ADMIN, Role.STORE_MANAGER)):
        raise NotAllowed("managers_only", gettext_lazy("Only store managers and HQ schedule livestreams."))


def _validate(
    principal: Principal, *, store: Store, host_id: int, starts_at, ends_at, products: Iterable[Product]
) -> list[Product]:
    errors: dict[str, list[str]] = {}
    if store.brand_id != principal.brand_id or not principal.may_see_store(store.pk):
        errors["store"] = [_("Not one of your stores.")]
    elif not StaffRole.objects.filter(
        brand_id=store.brand_id, store_id=store.pk, user_id=host_id, role=Role.GUIDE
    ).exists():
        errors["host"] = [_("The host must be a guide of the store.")]
    products = list(products)
    if any(p.brand_id != store.brand_id for p in products):
        errors["products"] = [_("Unknown product.")]
    if starts_at <= timezone.now():
        errors["starts_at"] = [_("A livestream starts in the future.")]
    if ends_at <= starts_at:
        errors["ends_at"] = [_("It ends after it starts.")]
    if errors:
        raise InvalidInput("invalid", _("Please correct the livestream's details."), fields=errors)
    return products


def schedule_livestream(
    principal: Principal,
    *,
    store: Store,
    host_id: int,
    title: str,
    platform: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    products: Iterable[Product] = (),
    remind_minutes_before: int = 30,
) -> Livestream:
    """A manager (or HQ) schedules a livestream in one of their stores."""
    _require_manager(principal)
    if platform not in Platform.values:
        raise InvalidInput("invalid", _("Choose a platform."), fields={"platform": [_("Unknown platform.")]})
    if not 1 <= remind_minutes_before <= LOOKAHEAD.total_seconds() // 60:
        raise InvalidInput(
            "invalid",
            _("Remind between 1 minute and 24 hours before."),
            fields={"remind_minutes_before": [_("Out of range.")]},
        )
    products = _validate(
        principal, store=store, host_id=host_id, starts_at=starts_at, ends_at=ends_at, products=products
    )
    with transaction.atomic():
        livestream = Livestream.objects.create(
            brand_id=store.brand_id,
            store=store,
            host_id=host_id,
            title=title.strip(),
            platform=platform,
            starts_at=starts_at,
            ends_at=ends_at,
            remind_minutes_before=remind_minutes_before,
            created_by_id=principal.user_id,
        )
        livestream.products.set(products)
    return livestream


_MOVES = {
    LivestreamStatus.LIVE: [LivestreamStatus.SCHEDULED],
    LivestreamStatus.ENDED: [LivestreamStatus.LIVE, LivestreamStatus.SCHEDULED],
    LivestreamStatus.CANCELLED: [LivestreamStatus.SCHEDULED],
}


def set_status(principal: Principal, *, livestream: Livestream, status: str) -> Livestream:
    """Mark a livestream live, ended or cancelled (a conditional UPDATE from the states it may
    come from; anything else is refused). `livestream` must come from a scoped lookup."""
    _require_manager(principal)
    if status not in _MOVES:
        raise InvalidInput("invalid", _("Unknown status."))
    moved = Livestream.objects.filter(pk=livestream.pk, status__in=_MOVES[status]).update(status=status)
    if not moved:
        raise DomainError("bad_state", _("The livestream cannot move to that state now."), status=409)
    livestream.status = status
    return livestream


def sign_up(
    principal: Principal, *, livestream: Livestream, member: Member, channel: str
) -> LivestreamSignup:
    """Sign a member up for a livestream's reminder on a channel they agreed to. `livestream`
    and `member` must come from scoped lookups (a guide: own members). A repeat returns the
    first signup."""
    if channel not in CONSENT_FIELD:
        raise InvalidInput(
            "invalid", _("Choose SMS or work chat."), fields={"channel": [_("Unknown channel.")]}
        )
    if member.brand_id != livestream.brand_id:
        raise DomainError("not_found", _("No such member."), status=404)
    if livestream.status != LivestreamStatus.SCHEDULED or livestream.starts_at <= timezone.now():
        raise DomainError("closed", _("Sign-ups are closed: the livestream has started or was called off."))
    if not getattr(member, CONSENT_FIELD[channel]):
        raise DomainError(
            "no_consent",
            _("This member has not agreed to messages on this channel."),
            fields={"channel": [_("No consent on this channel.")]},
        )
    signup, _created = LivestreamSignup.objects.get_or_create(
        livestream=livestream, member=member, defaults={"channel": channel}
    )
    return signup


# --- reminders ------------------------------------------------------------------------------


def _reminder_body(livestream: Livestream) -> str:
    with translation.override(REMINDER_LANGUAGE), timezone.override(timezone.get_default_timezone()):
        when = formats.date_format(timezone.localtime(livestream.starts_at), "SHORT_DATETIME_FORMAT")
        return _('Livestream "%(title)s" starts at %(when)s on %(platform)s. See you there!') % {
            "title": livestream.title,
            "when": when,
            "platform": Platform(livestream.platform).label,
        }


def send_due_reminders(now: dt.datetime | None = None) -> int:
    """Remind the signups of every livestream that starts within its reminder window and
    has not started yet. Returns how many reminders this run handled (sent or skipped)."""
    now = now or timezone.now()
    due = [
        ls
        for ls in Livestream.objects.filter(
            status=LivestreamStatus.SCHEDULED, starts_at__gt=now, starts_at__lte=now + LOOKAHEAD
        ).only(
            "id",
            "brand_id",
            "store_id",
            "host_id",
            "title",
            "platform",
            "starts_at",
            "remind_minutes_before",
            "reminded_at",
        )
        if ls.starts_at - dt.timedelta(minutes=ls.remind_minutes_before) <= now
    ]
    handled = 0
    for livestream in due:
        first = bool(
            Livestream.objects.filter(pk=livestream.pk, reminded_at__isnull=True).update(reminded_at=now)
        )
        sent, skipped = remind_signups(livestream, now=now)
        handled += sent + skipped
        if first:
            livestream.refresh_from_db(fields=["reminders_sent", "reminders_skipped"])
            with transaction.atomic():
                events.publish(
                    "livestream.reminded",
                    brand=livestream.brand_id,
                    store=livestream.store_id,
                    livestream=livestream.pk,
                    sent=livestream.reminders_sent,
                    skipped=livestream.reminders_skipped,
                    starts_at=livestream.starts_at,
                )
    return handled


def remind_signups(livestream: Livestream, *, now: dt.datetime) -> tuple[int, int]:
    """Send each not-yet-reminded signup its reminder, each claimed by a conditional UPDATE
    in the transaction that sends it; (sent, skipped) by this call."""
    from .messaging import send_to_member

    body = _reminder_body(livestream)
    sent = skipped = 0
    pending = list(
        LivestreamSignup.objects.filter(livestream_id=livestream.pk, reminded_at__isnull=True)
        .select_related("member")
        .order_by("id")
    )
    for signup in pending:
        with transaction.atomic():
            claimed = LivestreamSignup.objects.filter(pk=signup.pk, reminded_at__isnull=True).update(
                reminded_at=now
            )
            if not claimed:
                continue
            message = send_to_member(
                brand_id=livestream.brand_id,
                member=signup.member,
                channel=signup.channel,
                body=body,
                guide_id=livestream.host_id,
                store_id=livestream.store_id,
            )
            if message.status == MessageStatus.SKIPPED:
                skipped += 1
                Livestream.objects.filter(pk=livestream.pk).update(
                    reminders_skipped=F("reminders_skipped") + 1
                )
            else:
                sent += 1
                Livestream.objects.filter(pk=livestream.pk).update(reminders_sent=F("reminders_sent") + 1)
    return sent, skipped
