"""The workbench's partner API (`guides:read`, `guides:write`): for brands whose own CRM
wants the guides' interactions and tasks.

    GET   /api/v1/guide-interactions/?store=&guide=&member=&kind=&occurred_after=&occurred_before=
    GET   /api/v1/guide-interactions/{id}/
    POST  /api/v1/guide-interactions/      record one for a guide of the member's store
    GET   /api/v1/guide-tasks/?store=&guide=&status=&due_before=&plan=
    GET   /api/v1/guide-tasks/{id}/
    PATCH /api/v1/guide-tasks/{id}/        {"status": "done"} or {"status": "snoozed", "snoozed_until": ...}

A recorded interaction goes through guides.services.interactions.record_interaction as the
guide themselves (their StaffRole in the member's store), with source "api"; a repeat of its
`client_id` answers 200 with the first row (and Idempotency-Key replays the first answer)."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response

from members.models import Member
from retail.api.base import IdFilter, PartnerViewSet
from retail.choices import Role
from retail.errors import InvalidInput, NotFound
from retail.models import StaffRole
from retail.tenancy import principal_for_role

from ..choices import InteractionKind, InteractionSource, TaskStatus
from ..models import Interaction, Task
from ..services import tasks as task_services
from ..services.interactions import complete_task, record_interaction
from .serializers import (
    InteractionInSerializer,
    InteractionSerializer,
    TaskPatchSerializer,
    TaskSerializer,
)


class InteractionFilter(django_filters.FilterSet):
    store = IdFilter(field_name="store_id")
    guide = IdFilter(field_name="guide_id")
    member = IdFilter(field_name="member_id")
    kind = django_filters.ChoiceFilter(choices=InteractionKind.choices)
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Interaction
        fields = ["store", "guide", "member", "kind", "occurred_after", "occurred_before"]


class GuideInteractionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerViewSet):
    """The brand's guide interactions, newest first."""

    scope_resource = "guides"
    queryset = Interaction.objects.all()
    serializer_class = InteractionSerializer
    filterset_class = InteractionFilter

    @extend_schema(
        request=InteractionInSerializer,
        responses={
            201: InteractionSerializer,
            200: OpenApiResponse(
                InteractionSerializer, description="A repeat of a client_id: the first row."
            ),
        },
        summary="Record a guide's interaction with a member",
        description="Refusals: an unknown member (or another brand's) is 404; a `guide` that is not a "
        "guide of the member's store is 400; `future` (422) for an interaction more than 5 minutes ahead.",
    )
    def create(self, request):
        serializer = InteractionInSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        member = Member.objects.for_principal(self.principal).filter(pk=data["member"]).first()
        if member is None:
            raise NotFound("not_found", _("Unknown member."), fields={"member": [_("Not found.")]})
        role = None
        if member.store_id is not None:
            role = (
                StaffRole.objects.filter(
                    brand_id=member.brand_id, store_id=member.store_id, role=Role.GUIDE, user_id=data["guide"]
                )
                .select_related("user")
                .first()
            )
        if role is None:
            raise InvalidInput(
                "not_a_guide_of_store",
                _("Not a guide of the member's store."),
                fields={"guide": [_("Not a guide of the member's store.")]},
            )
        task = None
        if data["task"] is not None:
            task = (
                Task.objects.for_principal(self.principal)
                .filter(pk=data["task"], member_id=member.pk)
                .first()
            )
            if task is None:
                raise InvalidInput(
                    "unknown_task", _("No such task for this member."), fields={"task": [_("Not found.")]}
                )
        row, created = record_interaction(
            principal_for_role(role),
            member=member,
            kind=data["kind"],
            outcome=data["outcome"],
            next_step=data["next_step"],
            note=data["note"],
            occurred_at=data["occurred_at"],
            client_id=data["client_id"],
            task=task,
            source=InteractionSource.API,
        )
        return Response(
            InteractionSerializer(row).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class TaskFilter(django_filters.FilterSet):
    store = IdFilter(field_name="store_id")
    guide = IdFilter(field_name="guide_id")
    plan = IdFilter(field_name="plan_id")
    status = django_filters.ChoiceFilter(choices=TaskStatus.choices)
    due_before = django_filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="lt")

    class Meta:
        model = Task
        fields = ["store", "guide", "plan", "status", "due_before"]


class GuideTaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerViewSet):
    """The brand's guide tasks, newest first."""

    scope_resource = "guides"
    queryset = Task.objects.all()
    serializer_class = TaskSerializer
    filterset_class = TaskFilter

    @extend_schema(
        request=TaskPatchSerializer,
        responses={200: TaskSerializer},
        summary="Mark a task done or snooze it",
        description="Refusals: `task_closed` (409) for a cancelled task (or snoozing a done one); "
        "`until_past` / `until_too_far` (400) for a snooze outside the next 14 days. Marking a done "
        "task done again changes nothing.",
    )
    def partial_update(self, request, pk=None):
        task = self.get_object()  # another brand's task is a 404 before any validation
        serializer = TaskPatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["status"] == TaskStatus.DONE:
            if task.status == TaskStatus.CANCELLED:
                raise task_services.TaskClosed("task_closed", _("This task was cancelled."))
            complete_task(task)
        else:
            task_services.snooze_task(self.principal, task, until=data["snoozed_until"])
        return Response(TaskSerializer(self.get_queryset().get(pk=task.pk)).data)
