"""Staff notifications: the inbox at /notifications/ and the bell in every page's header.

The API other apps use (docs/notifications.md):

- `register_message(code, title=..., body=...)` in the app's ready(): the wording of a
  message, lazy translations with `%(name)s` placeholders. A notification stores the code
  and its params only, so it is worded when read, in the reader's language.
- `notify(brand_id=, store_id=, roles=, kind=, message=, params=, url=, subject=, dedupe_key=)`:
  one notification to every active user holding one of `roles` there (HQ admins of the
  brand; store managers and guides of the store), one INSERT, a repeat of the same
  `dedupe_key` adds nothing; the recipients' open pages hear of it.
- `notify_brand_hq(...)`: the same, to the brand's HQ admins.
- `resolve(brand_id=, subject=, kinds=)`: the thing went away by itself (a device came back
  online): its open notifications are resolved and no longer count on the bell.

Reads are by recipient: a user only ever sees their own notifications, and only of brands
they still hold a role in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .choices import Role
from .models import NotificationKind, StaffNotification, StaffRole

logger = logging.getLogger(__name__)

# The bell's count is cached per user; every write that changes it drops the entry (now and
# after commit), so this only bounds how long a rare race can leave it stale.
UNREAD_CACHE_SECONDS = 300
# The bell shows "99+" beyond this: counting further costs more and tells nobody anything.
UNREAD_CAP = 100
DEVICE_ALERT_ROLES = (Role.STORE_MANAGER, Role.HQ_ADMIN)


class UnknownMessage(LookupError):
    pass


# --- wording ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wording:
    """How a message reads: lazy translations with `%(name)s` placeholders for its params."""

    title: Any
    body: Any = ""


MESSAGES: dict[str, Wording] = {
    "webhook_paused": Wording(
        title=_("A webhook was paused: %(url)s"),
        body=_(
            "Its endpoint kept failing, so the circuit breaker paused it. Deliveries wait until it is resumed."
        ),
    ),
}


def register_message(code: str, *, title: Any, body: Any = "") -> None:
    """Add a message's wording (apps call this in ready()). `title` and `body` are lazy
    translations; `%(name)s` placeholders are filled from the notification's params."""
    MESSAGES.setdefault(code, Wording(title=title, body=body))


@dataclass(frozen=True)
class Shown:
    """A notification as its reader sees it: worded in the active language."""

    notification: StaffNotification
    title: str
    body: str

    @property
    def is_open(self) -> bool:
        n = self.notification
        return n.read_at is None and n.resolved_at is None


def word(notification: StaffNotification) -> Shown:
    """Word a notification in the active language (the reader's, in a request)."""
    wording = MESSAGES.get(notification.message)
    if wording is None:  # the app that registered it is gone: say something rather than fail
        return Shown(notification, gettext("Notification"), "")
    params = _display_params(notification.params or {})
    return Shown(notification, _fill(wording.title, params), _fill(wording.body, params))


def _fill(template: Any, params: dict[str, Any]) -> str:
    if not template:
        return ""
    try:
        return str(template % params)  # on the lazy object: ngettext_lazy picks its plural here
    except (KeyError, TypeError, ValueError):  # a param missing from an old row
        logger.warning("notification wording %r lacks a param (has %s)", str(template), sorted(params))
        return str(template)


def _display_params(params: dict[str, Any]) -> dict[str, Any]:
    """Times (params named `*_at`, ISO strings) in the reader's time zone and format."""
    shown = dict(params)
    for key, value in params.items():
        if key.endswith("_at") and isinstance(value, str):
            moment = parse_datetime(value)
            if moment is not None:
                if timezone.is_aware(moment):
                    moment = timezone.localtime(moment)
                shown[key] = formats.date_format(moment, "DATETIME_FORMAT")
        elif key.endswith("_at") and value is None:
            shown[key] = gettext("never")
    return shown


# --- writes -------------------------------------------------------------------------------


def recipients(*, brand_id: int, store_id: int | None, roles: Iterable[str]) -> list[int]:
    """Ids of the active users holding one of `roles`: HQ admins of the brand; store managers
    and guides of the store (store-bound roles need a store). One query."""
    roles = set(roles)
    unknown = roles - set(Role.values)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    wanted = Q(pk__in=[])
    if Role.HQ_ADMIN in roles:
        wanted |= Q(role=Role.HQ_ADMIN)
    in_store = roles - {Role.HQ_ADMIN}
    if in_store:
        if store_id is None:
            raise ValueError("store-bound roles need a store_id")
        wanted |= Q(role__in=sorted(in_store), store_id=store_id)
    found = StaffRole.objects.filter(wanted, brand_id=brand_id, user__is_active=True).values_list(
        "user_id", flat=True
    )
    return sorted(set(found))


def notify(
    *,
    brand_id: int,
    store_id: int | None = None,
    roles: Iterable[str],
    kind: str,
    message: str,
    params: dict[str, Any] | None = None,
    url: str = "",
    subject: str = "",
    dedupe_key: str,
) -> list[int]:
    """Notify every user holding one of `roles` for the brand / store (see `recipients`):
    one row each, in one INSERT that skips a recipient who already has `dedupe_key` (a
    redelivered event). After commit their cached bell counts go and their open pages are
    told to refresh the bell. Returns the recipients' ids.

    `params` must be JSON (names, numbers, ISO times named `*_at`), never worded text: the
    wording comes from `message` when the notification is read."""
    if message not in MESSAGES:
        raise UnknownMessage(message)
    if kind not in NotificationKind.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    users = recipients(brand_id=brand_id, store_id=store_id, roles=roles)
    if not users:
        return []
    rows = [
        StaffNotification(
            brand_id=brand_id,
            store_id=store_id,
            recipient_id=user_id,
            kind=kind,
            message=message,
            params=params or {},
            url=url,
            subject=subject,
            dedupe_key=dedupe_key,
        )
        for user_id in users
    ]
    with transaction.atomic():
        StaffNotification.objects.bulk_create(rows, ignore_conflicts=True)
        _changed(users)
    return users


def notify_brand_hq(
    *,
    brand_id: int,
    kind: str,
    message: str,
    params: dict[str, Any] | None = None,
    url: str = "",
    subject: str = "",
    dedupe_key: str,
) -> list[int]:
    """`notify` the brand's HQ admins (brand-wide matters: a paused webhook, say)."""
    return notify(
        brand_id=brand_id,
        roles=[Role.HQ_ADMIN],
        kind=kind,
        message=message,
        params=params,
        url=url,
        subject=subject,
        dedupe_key=dedupe_key,
    )


def resolve(*, brand_id: int, subject: str, kinds: Iterable[str] | None = None) -> int:
    """The thing `subject` names is fine again: its open notifications (of `kinds`, or any)
    are resolved — kept in the inboxes, off the bell. Idempotent. Returns how many."""
    with transaction.atomic():
        unresolved = StaffNotification.objects.filter(
            brand_id=brand_id, subject=subject, resolved_at__isnull=True
        )
        if kinds is not None:
            unresolved = unresolved.filter(kind__in=list(kinds))
        users = list(unresolved.values_list("recipient_id", flat=True).distinct())
        if not users:
            return 0
        resolved = unresolved.update(resolved_at=timezone.now())
        _changed(users)
    return resolved


def mark_read(*, user, brand_ids: Iterable[int], notification_id: int) -> StaffNotification:
    """The user read one of their notifications (a no-op if read already). Raises
    StaffNotification.DoesNotExist for anybody else's."""
    with transaction.atomic():
        found = notifications_for(user=user, brand_ids=brand_ids).get(pk=notification_id)
        if found.read_at is None:
            found.read_at = timezone.now()
            StaffNotification.objects.filter(pk=found.pk, read_at__isnull=True).update(read_at=found.read_at)
            _changed([user.pk])
    return found


def mark_all_read(*, user, brand_ids: Iterable[int]) -> int:
    """Every unread notification of the user's marked read. Returns how many."""
    with transaction.atomic():
        count = (
            notifications_for(user=user, brand_ids=brand_ids)
            .filter(read_at__isnull=True)
            .update(read_at=timezone.now())
        )
        if count:
            _changed([user.pk])
    return count


def _changed(user_ids: list[int]) -> None:
    """The users' bell counts changed: drop the cached counts now and again after commit
    (a reader who counted before the commit cannot keep the old count), and after commit
    tell their open pages (the per-user channel-layer group)."""
    keys = [unread_cache_key(pk) for pk in user_ids]
    cache.delete_many(keys)

    def after_commit() -> None:
        cache.delete_many(keys)
        _push(user_ids)

    transaction.on_commit(after_commit)


def _push(user_ids: list[int]) -> None:
    from .broadcast import group_send

    message = {"type": "notifications.changed"}
    try:
        group_send((user_group(pk), message) for pk in user_ids)
    except Exception:  # the channel layer is down: the bell catches up on the next page
        logger.exception("could not push a notification change to %d users", len(user_ids))


def user_group(user_id: int) -> str:
    """The channel-layer group of one user's open pages (joined by /ws/live/)."""
    return f"user.{user_id}"


# --- reads --------------------------------------------------------------------------------


def brand_ids_of(roles: Iterable[StaffRole]) -> frozenset[int]:
    """The brands a user holds a role in: they see their notifications of those only."""
    return frozenset(role.brand_id for role in roles)


def notifications_for(*, user, brand_ids: Iterable[int]) -> QuerySet[StaffNotification]:
    """The user's own notifications, of brands they still hold a role in."""
    return StaffNotification.objects.filter(recipient_id=user.pk, brand_id__in=sorted(brand_ids))


def open_filter() -> Q:
    return Q(read_at__isnull=True, resolved_at__isnull=True)


def inbox(*, user, brand_ids: Iterable[int], unread_only: bool = False) -> QuerySet[StaffNotification]:
    """The inbox: open (unread, unresolved) notifications first, then the rest, newest first."""
    qs = notifications_for(user=user, brand_ids=brand_ids)
    if unread_only:
        return qs.filter(open_filter()).order_by("-created_at", "-id")
    return qs.annotate(
        done=Case(When(open_filter(), then=Value(0)), default=Value(1), output_field=IntegerField())
    ).order_by("done", "-created_at", "-id")


def unread_cache_key(user_id: int) -> str:
    return f"retail:notifications:unread:u:{user_id}"


def unread_count(*, user, brand_ids: Iterable[int]) -> int:
    """How many open notifications the user has (up to UNREAD_CAP), for the bell on every
    page: from the cache, else one COUNT on a partial index (then cached)."""
    brands = tuple(sorted(brand_ids))
    if not brands:
        return 0
    key = unread_cache_key(user.pk)
    found = cache.get(key)
    if found is not None and found[0] == brands:
        return found[1]
    count = notifications_for(user=user, brand_ids=brands).filter(open_filter())[:UNREAD_CAP].count()
    if found is None:
        cache.add(key, (brands, count), UNREAD_CACHE_SECONDS)  # never over a fresher count
    else:  # their brands changed (a role granted or revoked)
        cache.set(key, (brands, count), UNREAD_CACHE_SECONDS)
    return count
