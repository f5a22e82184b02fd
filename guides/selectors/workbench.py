"""Reads of the guide's tablet workbench: today's tasks, my members (search, keyset pages),
my month in numbers, the store's leaderboard, a member's card and the offline snapshot.

Every read is scoped through `for_principal` and shaped for its page: a fixed number of
queries whatever the guide's member or task count (the home page asserts it)."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, DecimalField, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from members import pii
from members.models import Member
from retail.choices import Role
from retail.models import StaffRole
from retail.tenancy import Principal

from ..choices import InteractionKind, TaskStatus
from ..models import AssignmentChange, Conversion, Interaction, Task
from . import assignments as assignment_selectors
from . import conversions as conversion_selectors
from . import tasks as task_selectors

logger = logging.getLogger(__name__)

MEMBERS_PER_PAGE = 30
SNAPSHOT_MEMBERS = 200
TODAY_TASKS = 50


# --- time ---------------------------------------------------------------------------------


def month_bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The local calendar month around `now`, as aware datetimes."""
    local = timezone.localtime(now)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    nxt = (start + dt.timedelta(days=32)).replace(day=1)
    return start, nxt


# --- today's tasks ------------------------------------------------------------------------


def today_tasks(
    principal: Principal, *, now: dt.datetime | None = None, limit: int = TODAY_TASKS
) -> list[Task]:
    """The visible tasks to work today, overdue first, each with `is_overdue` (helper A's
    selector: one source of "today's tasks" for the workbench and the board)."""
    return task_selectors.today_tasks(principal, now=now, limit=limit)


# --- my members ---------------------------------------------------------------------------


def _last_contact() -> Subquery:
    return Subquery(
        Interaction.objects.filter(member_id=OuterRef("pk"))
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )


def my_members(principal: Principal) -> QuerySet[Member]:
    """The members the principal may act on (a guide: their own), tier joined."""
    return Member.objects.for_principal(principal).select_related("tier")


def member_match(q: str) -> Q | None:
    """What a search box query matches: a member number, a full phone (blind index), the
    last four phone digits (the masked number's tail), or a full name (blind index)."""
    q = (q or "").strip()
    if not q:
        return None
    match = Q(member_no=q) | Q(member_no=q.upper())
    digits = q.replace(" ", "").replace("-", "")
    if digits.isdigit() and len(digits) == 4:
        match |= Q(phone_masked__endswith=digits)
    try:
        match |= Q(phone_hash=pii.phone_index(q))
    except pii.InvalidPhone:
        if not digits.isdigit():
            match |= Q(name_hash=pii.name_index(q))
    return match


def member_page(
    principal: Principal, *, q: str = "", after: int | None = None, limit: int = MEMBERS_PER_PAGE
) -> tuple[list[Member], int | None]:
    """One keyset page of my members (newest first: joined_at, then id), optionally matching a search: the rows
    (with `last_contact_at` and their first `open_task_id`) and the id to continue after (None on the last page). One query."""
    qs = my_members(principal)
    match = member_match(q)
    if match is not None:
        qs = qs.filter(match)
    if after:
        # keyset on (joined_at, id), the order of the (guide, joined_at) index: the rows after
        # the member `after` (its joined_at read in the same query)
        anchor = Subquery(Member.objects.filter(pk=after).values("joined_at")[:1])
        qs = qs.filter(Q(joined_at__lt=anchor) | Q(joined_at=anchor, pk__lt=after))
    open_task = (
        Task.objects.for_principal(principal)
        .filter(member_id=OuterRef("pk"), status=TaskStatus.OPEN)
        .order_by("due_at", "id")
        .values("id")[:1]
    )
    rows = list(
        qs.annotate(last_contact_at=_last_contact(), open_task_id=Subquery(open_task)).order_by(
            "-joined_at", "-id"
        )[: limit + 1]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].pk if more else None)


# --- numbers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthNumbers:
    calls: int
    answered: int
    conversions: int
    sales: Decimal

    @property
    def answer_rate(self) -> int:
        """Percent of calls answered (0 with no calls)."""
        return round(100 * self.answered / self.calls) if self.calls else 0


def month_numbers(principal: Principal, *, now: dt.datetime | None = None) -> MonthNumbers:
    """The principal's month: calls, answered calls, conversions and attributed sales (for a
    guide their own; a manager their stores). Two aggregate queries."""
    if principal.guide_user_id is not None:  # helper C's figures: one source of a guide's month
        month = timezone.localdate(now) if now else None
        figures = conversion_selectors.guide_month(principal, principal.guide_user_id, month)
        return MonthNumbers(
            calls=figures["calls"] or 0,
            answered=figures["answered"] or 0,
            conversions=figures["conversions"] or 0,
            sales=figures["sales"] or Decimal("0.00"),
        )
    start, end = month_bounds(now or timezone.now())
    calls = (
        Interaction.objects.for_principal(principal)
        .filter(kind=InteractionKind.CALL, occurred_at__gte=start, occurred_at__lt=end)
        .aggregate(calls=Count("id"), answered=Count("id", filter=Q(answered=True)))
    )
    sold = (
        Conversion.objects.for_principal(principal)
        .filter(ordered_at__gte=start, ordered_at__lt=end)
        .aggregate(n=Count("id"), amount=Sum("amount"))
    )
    return MonthNumbers(
        calls=calls["calls"] or 0,
        answered=calls["answered"] or 0,
        conversions=sold["n"] or 0,
        sales=sold["amount"] or Decimal("0.00"),
    )


@dataclass(frozen=True)
class BoardRow:
    """A guide's line on the store's leaderboard (plain values: it is cached)."""

    user_id: int
    name: str
    calls: int
    answered: int
    conversions: int
    sales: Decimal


BOARD_SECONDS = 30  # the store's board is shared by its guides; each guide's own line is fresh


def _board_query(*, store_id: int, start: dt.datetime, end: dt.datetime):
    """The store's guide roles with this month's figures annotated (correlated aggregates)."""
    conv = Conversion.objects.filter(
        store_id=store_id, guide_id=OuterRef("user_id"), ordered_at__gte=start, ordered_at__lt=end
    ).order_by()
    calls = Interaction.objects.filter(
        store_id=store_id,
        guide_id=OuterRef("user_id"),
        kind=InteractionKind.CALL,
        occurred_at__gte=start,
        occurred_at__lt=end,
    ).order_by()
    zero = Value(Decimal("0.00"), output_field=DecimalField(max_digits=14, decimal_places=2))

    def count(qs) -> Coalesce:
        return Coalesce(
            Subquery(qs.values("guide_id").annotate(n=Count("id")).values("n")[:1]),
            Value(0),
            output_field=IntegerField(),
        )

    return (
        StaffRole.objects.filter(store_id=store_id, role=Role.GUIDE)
        .select_related("user")
        .annotate(
            conversions=count(conv),
            sales=Coalesce(
                Subquery(conv.values("guide_id").annotate(s=Sum("amount")).values("s")[:1]),
                zero,
                output_field=DecimalField(max_digits=14, decimal_places=2),
            ),
            calls=count(calls),
            answered=count(calls.filter(answered=True)),
        )
    )


def _row(role) -> BoardRow:
    return BoardRow(
        user_id=role.user_id,
        name=role.user.get_full_name() or role.user.get_username(),
        calls=role.calls,
        answered=role.answered,
        conversions=role.conversions,
        sales=role.sales,
    )


def _rank(rows: list[BoardRow]) -> list[BoardRow]:
    return sorted(rows, key=lambda r: (-r.sales, -r.conversions, -r.calls, r.user_id))


def leaderboard(*, store_id: int, now: dt.datetime | None = None, limit: int = 20) -> list[BoardRow]:
    """The store's guides this month, best first by sales, conversions, calls. One query."""
    start, end = month_bounds(now or timezone.now())
    roles = _board_query(store_id=store_id, start=start, end=end).order_by(
        "-sales", "-conversions", "-calls", "user_id"
    )[:limit]
    return [_row(role) for role in roles]


def numbers_and_board(
    principal: Principal, *, now: dt.datetime | None = None
) -> tuple[MonthNumbers, list[BoardRow]]:
    """A guide's month and their store's leaderboard. The board is shared by the store's
    guides for BOARD_SECONDS (cached); the guide's own line is read fresh (one query) and put
    in its place, so their numbers move the moment a call is recorded."""
    store_id = workbench_store_id(principal)
    if not store_id or principal.guide_user_id is None:
        return month_numbers(principal, now=now), []
    now = now or timezone.now()
    start, end = month_bounds(now)
    key = f"guides:board:{store_id}:{start:%Y%m}"
    board = cache.get(key)
    if board is None:
        board = leaderboard(store_id=store_id, now=now)
        cache.set(key, board, BOARD_SECONDS)
    role = (
        _board_query(store_id=store_id, start=start, end=end).filter(user_id=principal.guide_user_id).first()
    )
    if role is None:
        return month_numbers(principal, now=now), board
    mine = _row(role)
    board = _rank([row for row in board if row.user_id != mine.user_id] + [mine])
    numbers = MonthNumbers(
        calls=mine.calls, answered=mine.answered, conversions=mine.conversions, sales=mine.sales
    )
    return numbers, board


def workbench_store_id(principal: Principal) -> int | None:
    """The store a guide works in (their role's store)."""
    if principal.store_ids and len(principal.store_ids) == 1:
        return next(iter(principal.store_ids))
    return None


# --- a member's card ----------------------------------------------------------------------


def recent_interactions(principal: Principal, *, member: Member, limit: int = 10) -> list[Interaction]:
    return list(
        Interaction.objects.for_principal(principal)
        .filter(member_id=member.pk)
        .select_related("guide")
        .order_by("-occurred_at", "-id")[:limit]
    )


def open_tasks(principal: Principal, *, member: Member, limit: int = 10) -> list[Task]:
    return list(
        Task.objects.for_principal(principal)
        .filter(member_id=member.pk, status__in=[TaskStatus.OPEN, TaskStatus.SNOOZED])
        .order_by("due_at", "id")[:limit]
    )


def assignment_history(principal: Principal, *, member: Member, limit: int = 20) -> list[AssignmentChange]:
    """The member's guide history, newest first (helper A's selector). `member` comes from a
    scoped lookup."""
    return assignment_selectors.assignment_history(member, limit=limit)


def task_for(principal: Principal, task_id: int) -> Task:
    """A visible task (DoesNotExist otherwise: a 404)."""
    return Task.objects.for_principal(principal).select_related("member").get(pk=task_id)


# --- the offline snapshot -----------------------------------------------------------------


def offline_snapshot(principal: Principal, *, now: dt.datetime | None = None) -> dict:
    """What the tablet caches to keep working offline: today's tasks and the most recent
    own members, masked fields only (never a full phone or name). Two queries."""
    now = now or timezone.now()
    tasks = today_tasks(principal, now=now)
    members = list(
        my_members(principal)
        .annotate(last_contact_at=_last_contact())
        .order_by("-joined_at", "-id")[:SNAPSHOT_MEMBERS]
    )
    return {
        "generated_at": now.isoformat(),
        "tasks": [
            {
                "id": t.pk,
                "kind": t.kind,
                "kind_label": str(t.get_kind_display()),
                "title": t.title,
                "due_at": t.due_at.isoformat(),
                "overdue": t.due_at < now,
                "member": _member_json(t.member),
            }
            for t in tasks
        ],
        "members": [_member_json(m) for m in members],
    }


def _member_json(member: Member) -> dict:
    return {
        "id": member.pk,
        "member_no": member.member_no,
        "name": member.name_masked,
        "phone": member.phone_masked,
        "tier": member.tier.name if member.tier_id and member.tier else "",
        "consent_call": member.consent_call,
        "consent_sms": member.consent_sms,
        "consent_chat": member.consent_chat,
    }


# --- the home page's cached sections ------------------------------------------------------
#
# The workbench's sections (today's tasks, the first page of my members, my month and the
# store's board) are cached as rendered HTML per guide, under the guide's version and their
# brand's version: every write that changes what a guide's sections show calls `bump()`
# (guides.services.*), which gives the guide (or the whole brand) a new version, so the next
# GET reads fresh. SECTION_SECONDS bounds what no write announces: a task becoming due or
# overdue with the clock, the other guides' lines of the store board (cached BOARD_SECONDS
# anyway), a member's name, tier or consent edited outside guides/.

SECTION_SECONDS = 30


def _version_key(kind: str, pk: int) -> str:
    return f"guides:wb:v:{kind}:{pk}"


def bump(*, guide_ids: Iterable[int | None] = (), brand_id: int | None = None) -> None:
    """New cache versions for these guides' workbench sections (or a whole brand's): now, and
    again after the current transaction commits — a reader that read the database before the
    commit may have cached the old rows under the first new version."""
    keys = [_version_key("guide", pk) for pk in {g for g in guide_ids if g}]
    if brand_id:
        keys.append(_version_key("brand", brand_id))
    if not keys:
        return

    def _bump() -> None:
        try:
            cache.set_many({key: uuid.uuid4().hex for key in keys}, VERSION_SECONDS)
        except Exception:  # cache down: the sections expire after SECTION_SECONDS anyway
            logger.exception("could not bump the workbench cache versions")

    _bump()
    transaction.on_commit(_bump)


VERSION_SECONDS = 24 * 3600  # longer than any section lives; a lost version just reads fresh


def version_keys(principal: Principal) -> list[str]:
    """The cache keys of the guide's and their brand's versions."""
    return [_version_key("guide", principal.guide_user_id), _version_key("brand", principal.brand_id)]


def versions_of(principal: Principal, found: dict) -> str:
    """The current versions as one string, from a get_many of `version_keys` (a version not
    in the cache yet is made, unless another reader made it meanwhile)."""
    keys = version_keys(principal)
    values = dict(found)
    for key in keys:
        if key not in values:
            value = uuid.uuid4().hex
            values[key] = value if cache.add(key, value, VERSION_SECONDS) else cache.get(key, value)
    return ".".join(values[key] for key in keys)


def section_versions(principal: Principal) -> str:
    """The guide's and their brand's current versions, as one key part (one cache read)."""
    return versions_of(principal, cache.get_many(version_keys(principal)))
