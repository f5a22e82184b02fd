"""Reads of member assignment: a member's guide history, the reassignment batches a principal
may see and the members a batch moved."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from members.models import Member
from retail.choices import Role
from retail.models import StaffRole
from retail.tenancy import Principal

from ..models import AssignmentChange, ReassignmentBatch


def assignment_history(member: Member, *, limit: int = 50) -> list[AssignmentChange]:
    """The member's guide history, newest first (for the member card; one query).
    `member` must come from a scoped lookup."""
    return list(
        AssignmentChange.objects.filter(member_id=member.pk)
        .select_related("from_guide", "to_guide", "batch")
        .order_by("-created_at", "-id")[:limit]
    )


def batches(principal: Principal) -> QuerySet[ReassignmentBatch]:
    """Reassignment batches the principal may see (a guide: none), newest first."""
    if principal.guide_user_id is not None:
        return ReassignmentBatch.objects.none()
    return (
        ReassignmentBatch.objects.for_principal(principal)
        .select_related("store", "from_guide", "created_by")
        .order_by("-created_at", "-id")
    )


def batch_for(principal: Principal, batch_id: int) -> ReassignmentBatch:
    """One batch, if the principal may see it (DoesNotExist otherwise)."""
    return batches(principal).get(pk=batch_id)


def batch_changes(batch: ReassignmentBatch) -> QuerySet[AssignmentChange]:
    """The members a batch moved, with from → to guides."""
    return (
        AssignmentChange.objects.filter(batch_id=batch.pk)
        .select_related("member", "from_guide", "to_guide")
        .order_by("id")
    )


def store_guides(principal: Principal, *, store_ids=None) -> QuerySet:
    """Users who are guides of the stores the principal may see (of `store_ids` if given)."""
    roles = StaffRole.objects.for_principal(principal).filter(role=Role.GUIDE)
    if store_ids is not None:
        roles = roles.filter(store_id__in=store_ids)
    return get_user_model().objects.filter(pk__in=roles.values("user_id")).order_by("username")
