"""Serializers of the workbench's partner API: interactions and tasks. Inputs are strict
(unknown fields are an error); ids are plain integers resolved by the views among the
token's brand's rows, so another brand's member is a 404, never a hint that it exists."""

from __future__ import annotations

from rest_framework import serializers

from retail.api.base import MAX_ID, StrictSerializer

from ..choices import InteractionKind, NextStep, Outcome, TaskStatus
from ..models import Interaction, Task


class InteractionSerializer(serializers.ModelSerializer):
    """An interaction with its call state and what the guide recorded. `guide` is the
    guide's user id; the member's phone is never part of it."""

    class Meta:
        model = Interaction
        fields = [
            "id",
            "store",
            "guide",
            "member",
            "task",
            "plan",
            "kind",
            "source",
            "client_id",
            "occurred_at",
            "call_status",
            "answered",
            "answered_at",
            "ended_at",
            "duration_seconds",
            "outcome",
            "next_step",
            "note",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


def _id_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


class InteractionInSerializer(StrictSerializer):
    """Record an interaction a guide had with a member (in the brand's own CRM, a call
    centre, ...). `client_id` makes it idempotent: a repeat answers 200 with the first row."""

    member = _id_field()
    guide = _id_field(help_text="User id of a guide of the member's store.")
    kind = serializers.ChoiceField(choices=InteractionKind.choices)
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False, allow_blank=True, default="")
    next_step = serializers.ChoiceField(
        choices=NextStep.choices, required=False, allow_blank=True, default=""
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    client_id = serializers.UUIDField(required=False, allow_null=True, default=None)
    task = _id_field(required=False, allow_null=True, default=None)


class TaskSerializer(serializers.ModelSerializer):
    """A guide's task for a member; `guide` is the guide's user id."""

    class Meta:
        model = Task
        fields = [
            "id",
            "store",
            "guide",
            "member",
            "plan",
            "kind",
            "title",
            "due_at",
            "status",
            "snoozed_until",
            "done_at",
            "interaction",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TaskPatchSerializer(StrictSerializer):
    """Mark a task done, or snooze it until a time in the next 14 days."""

    status = serializers.ChoiceField(choices=[(TaskStatus.DONE, "done"), (TaskStatus.SNOOZED, "snoozed")])
    snoozed_until = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def validate(self, attrs):
        if attrs["status"] == TaskStatus.SNOOZED and attrs.get("snoozed_until") is None:
            raise serializers.ValidationError({"snoozed_until": ["Required to snooze a task."]})
        if attrs["status"] == TaskStatus.DONE and attrs.get("snoozed_until") is not None:
            raise serializers.ValidationError({"snoozed_until": ["Only with status snoozed."]})
        return attrs
