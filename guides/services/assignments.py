"""Member assignment: a member recruited by a guide is that guide's (an AssignmentChange of
reason "recruited" on `member.joined`); a store manager or HQ moves members in bulk to other
guides of the store (a guide leaves, a store closes), with a ReassignmentBatch as history.

The bulk move is set-based: one UPDATE of members.Member.guide (and of the open tasks) per
target guide and chunk of ids, one bulk INSERT of history rows, in one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models import Member
from retail import audit, events
from retail.choices import AuditAction, Role
from retail.errors import InvalidInput, NotFound
from retail.models import StaffRole, Store
from retail.tenancy import Principal

from ..choices import AssignmentReason, TaskStatus
from ..models import AssignmentChange, ReassignmentBatch, Task
from ..selectors.workbench import bump as bump_workbench
from .common import NotAllowed

CHUNK = 5000
OPEN_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.SNOOZED)


def connect() -> None:
    """Recruitment: a member who joins with a guide is assigned to that guide; a member whose
    guide is changed by an edit (members' update_member) gets that change in the history."""
    events.subscribe("member.joined", _on_member_joined)
    events.subscribe("member.updated", _on_member_updated)


def _on_member_updated(event) -> None:
    member_id = event.payload.get("member")
    if member_id:
        record_edited_guide(member_id=member_id)


def record_edited_guide(*, member_id: int) -> AssignmentChange | None:
    """After a member was edited: if their guide is not the one the history ends with, add
    the change (reason "other"). Nothing when the guide did not change — so a redelivered
    or a consent-only `member.updated` adds nothing."""
    with transaction.atomic():
        member = (
            Member.objects.select_for_update()
            .filter(pk=member_id)
            .values("brand_id", "store_id", "guide_id")
            .first()
        )
        if member is None:
            return None
        last = AssignmentChange.objects.filter(member_id=member_id).order_by("-id").first()
        last_guide = last.to_guide_id if last is not None else None
        if last_guide == member["guide_id"]:
            return None
        bump_workbench(guide_ids=[last_guide, member["guide_id"]])  # off one list, onto another
        return AssignmentChange.objects.create(
            brand_id=member["brand_id"],
            store_id=member["store_id"],
            member_id=member_id,
            from_guide_id=last_guide,
            to_guide_id=member["guide_id"],
            reason=AssignmentReason.OTHER,
        )


def _on_member_joined(event) -> None:
    guide_id = event.payload.get("guide")
    member_id = event.payload.get("member")
    if not guide_id or not member_id:
        return
    record_recruitment(
        member_id=member_id, guide_id=guide_id, store_id=event.store_id, brand_id=event.brand_id
    )


def record_recruitment(
    *, member_id: int, guide_id: int, store_id: int | None, brand_id: int
) -> AssignmentChange:
    """The history's first row: the member was recruited by the guide. Idempotent: a
    redelivered `member.joined` returns the row already there."""
    with transaction.atomic():
        # serialise on the member's row so two deliveries never both insert
        Member.objects.select_for_update().filter(pk=member_id).values_list("pk").first()
        existing = AssignmentChange.objects.filter(
            member_id=member_id, reason=AssignmentReason.RECRUITED
        ).first()
        if existing is not None:
            return existing
        bump_workbench(guide_ids=[guide_id])  # a new member on the guide's list
        return AssignmentChange.objects.create(
            brand_id=brand_id,
            store_id=store_id,
            member_id=member_id,
            from_guide=None,
            to_guide_id=guide_id,
            reason=AssignmentReason.RECRUITED,
        )


def may_reassign(principal: Principal) -> bool:
    """Store managers and HQ move members; guides never."""
    return principal.is_superuser or principal.role in (Role.STORE_MANAGER, Role.HQ_ADMIN)


def guides_of_store(*, store: Store) -> list[int]:
    """User ids of the store's guides (by id)."""
    return sorted(
        set(
            StaffRole.objects.filter(brand_id=store.brand_id, store_id=store.pk, role=Role.GUIDE).values_list(
                "user_id", flat=True
            )
        )
    )


def _target_stores(principal: Principal, *, store: Store, targets: list[int]) -> dict[int, int]:
    """{guide user id: the store they take members into}: this store where they are one of
    its guides, else the first other store of the brand (that the principal may see) where
    they are a guide."""
    stores = Store.objects.for_principal(principal).filter(brand_id=store.brand_id)
    found: dict[int, int] = {}
    roles = StaffRole.objects.filter(
        brand_id=store.brand_id, role=Role.GUIDE, user_id__in=targets, store__in=stores
    ).values_list("user_id", "store_id")
    for user_id, store_id in sorted(roles, key=lambda row: (row[1] != store.pk, row[1])):
        found.setdefault(user_id, store_id)
    return found


def _ids(values: Iterable) -> list[int]:
    out = []
    for value in values:
        out.append(int(getattr(value, "pk", value)))
    return out


def reassign_members(
    principal: Principal,
    *,
    store: Store,
    from_guide=None,
    member_ids: Sequence[int] | None = None,
    to_guides: Sequence,
    reason: str,
    note: str = "",
) -> ReassignmentBatch:
    """Move the members of `from_guide` in `store` (or the listed members of the store) to
    `to_guides`, spread evenly (round robin by member id). Their open and snoozed tasks
    follow them. One transaction; publishes `guide.members_reassigned`; audited."""
    if not may_reassign(principal):
        raise NotAllowed("not_allowed", _("Only a store manager or HQ can reassign members."))
    if not Store.objects.for_principal(principal).filter(pk=store.pk).exists():
        raise NotFound("not_found", _("Unknown store."), fields={"store": [_("Not found.")]})
    if reason not in AssignmentReason.values or reason == AssignmentReason.RECRUITED:
        raise InvalidInput("bad_reason", _("Choose a reason."), fields={"reason": [_("Choose a reason.")]})
    targets = list(dict.fromkeys(_ids(to_guides)))
    if not targets:
        raise InvalidInput(
            "no_target",
            _("Choose at least one guide."),
            fields={"to_guides": [_("Choose at least one guide.")]},
        )
    # a target is a guide of this store, or — when a store closes — of another store of the
    # brand the principal may see; members who go to another store's guide move to that store
    target_store = _target_stores(principal, store=store, targets=targets)
    if set(targets) - set(target_store):
        raise InvalidInput(
            "not_a_guide_of_store",
            _("Every target must be a guide of one of your stores."),
            fields={"to_guides": [_("Every target must be a guide of one of your stores.")]},
        )
    from_id = int(getattr(from_guide, "pk", from_guide)) if from_guide is not None else None
    if (from_id is None) == (member_ids is None):
        raise InvalidInput(
            "choose_members", _("Choose a guide to move members from, or select members."), fields={}
        )
    if member_ids is not None and not list(member_ids):
        raise InvalidInput(
            "choose_members",
            _("Select at least one member."),
            fields={"member_ids": [_("Select at least one member.")]},
        )
    if from_id is not None and from_id in targets:
        raise InvalidInput(
            "same_guide",
            _("The guide members move away from cannot be a target."),
            fields={"to_guides": [_("The guide members move away from cannot be a target.")]},
        )

    with transaction.atomic():
        members = Member.objects.filter(brand_id=store.brand_id, store_id=store.pk)
        if from_id is not None:
            members = members.filter(guide_id=from_id)
        else:
            wanted = _ids(member_ids or [])
            members = members.filter(pk__in=wanted)
            if principal.store_ids is not None:
                members = members.filter(store_id__in=principal.store_ids)
        # lock the rows being moved: a concurrent move of the same members waits
        rows = list(members.select_for_update().order_by("pk").values_list("pk", "guide_id"))
        if member_ids is not None and len(rows) != len(set(_ids(member_ids))):
            raise NotFound(
                "unknown_members",
                _("Some selected members are not members of this store."),
                fields={"member_ids": [_("Some selected members are not members of this store.")]},
            )
        plan: dict[int, list[tuple[int, int | None]]] = {t: [] for t in targets}
        slot = 0
        for member_id, current in rows:
            target = targets[slot % len(targets)]
            slot += 1
            if current == target:
                continue
            plan[target].append((member_id, current))
        moved = sum(len(v) for v in plan.values())
        batch = ReassignmentBatch.objects.create(
            brand_id=store.brand_id,
            store_id=store.pk,
            reason=reason,
            note=(note or "")[:200],
            from_guide_id=from_id,
            members_moved=moved,
            created_by_id=principal.user_id,
        )
        now = timezone.now()
        history = []
        for target, pairs in plan.items():
            for start in range(0, len(pairs), CHUNK):
                chunk = [m for m, _g in pairs[start : start + CHUNK]]
                Member.objects.filter(pk__in=chunk).update(guide_id=target, store_id=target_store[target])
                Task.objects.filter(member_id__in=chunk, status__in=OPEN_TASK_STATUSES).update(
                    guide_id=target, store_id=target_store[target], updated_at=now
                )
            history.extend(
                AssignmentChange(
                    brand_id=store.brand_id,
                    store_id=store.pk,
                    member_id=member_id,
                    from_guide_id=current,
                    to_guide_id=target,
                    reason=reason,
                    batch=batch,
                    created_by_id=principal.user_id,
                )
                for member_id, current in pairs
            )
        AssignmentChange.objects.bulk_create(history, batch_size=2000)
        # the members leave one list and join another (and their open tasks with them)
        bump_workbench(guide_ids=[*targets, *(g for pairs in plan.values() for _m, g in pairs)])
        audit.record(
            AuditAction.UPDATE,
            batch,
            actor_id=principal.user_id,
            after={"from_guide": from_id, "to_guides": targets, "members_moved": moved, "reason": reason},
            message=f"{moved} members reassigned",
        )
        events.publish(
            "guide.members_reassigned",
            brand=store.brand_id,
            store=store.pk,
            batch=batch.pk,
            from_guide=from_id,
            to_guides=targets,
            members_moved=moved,
            reason=reason,
        )
    return batch
