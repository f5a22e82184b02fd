"""Partner API for webhooks: subscriptions, their delivery log, dead letters and redelivery.

A partner token sees and manages its own subscriptions only (HQ's, and other partners',
are not found); scopes `webhooks:read` / `webhooks:write`. Thin: validate, call
retail.webhooks."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import webhooks
from ..choices import DeliveryStatus
from ..jobs import enqueue_job
from ..models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from .base import PartnerViewSet, StrictSerializer


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "url",
            "event_types",
            "description",
            "is_active",
            "paused_at",
            "pause_reason",
            "consecutive_failures",
            "previous_secret_expires_at",
            "created_at",
        ]
        read_only_fields = fields

    event_types = serializers.ListField(child=serializers.CharField(), read_only=True)


class WebhookSubscriptionInSerializer(StrictSerializer):
    url = serializers.URLField(max_length=500)
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=64),
        allow_empty=False,
        max_length=100,
        help_text='Event names or patterns from the catalogue, e.g. ["order.created", "member.*"].',
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class WebhookSecretSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(read_only=True, help_text="The signing secret, shown this once.")

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class ReplayedSerializer(serializers.Serializer):
    replayed = serializers.IntegerField()


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["attempted_at", "status_code", "duration_ms", "error", "response_excerpt"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "subscription",
            "event",
            "event_name",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "last_duration_ms",
            "delivered_at",
            "created_at",
        ]
        read_only_fields = fields


class WebhookDeliveryDetailSerializer(WebhookDeliverySerializer):
    attempt_log = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta(WebhookDeliverySerializer.Meta):
        fields = [*WebhookDeliverySerializer.Meta.fields, "attempt_log"]
        read_only_fields = fields


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)
    event_name = django_filters.CharFilter()
    subscription = django_filters.NumberFilter(
        field_name="subscription_id", help_text="One subscription's delivery log (its id)."
    )

    class Meta:
        model = WebhookDelivery
        fields = ["status", "event_name", "subscription"]


class OwnSubscriptionsMixin:
    """A partner token sees its own client's subscriptions only."""

    def own(self, queryset, field: str):
        client_id = getattr(self.principal, "api_client_id", None)
        return queryset.filter(**{field: client_id}) if client_id is not None else queryset


class WebhookSubscriptionViewSet(
    OwnSubscriptionsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerViewSet
):
    """Webhook subscriptions of the token's partner, oldest first."""

    scope_resource = "webhooks"
    queryset = WebhookSubscription.objects.all()
    serializer_class = WebhookSubscriptionSerializer

    def get_queryset(self):
        return self.own(super().get_queryset(), "client_id").order_by("id")

    def _valid(self, data, partial=False):
        serializer = WebhookSubscriptionInSerializer(data=data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(request=WebhookSubscriptionInSerializer, responses={201: WebhookSecretSerializer})
    def create(self, request):
        data = self._valid(request.data)
        data.pop("is_active", None)
        client = None
        if self.principal.api_client_id is not None:
            from ..models import ApiClient

            client = ApiClient.objects.get(pk=self.principal.api_client_id)
        subscription, secret = webhooks.create_subscription(
            brand_id=self.principal.brand_id, client=client, **data
        )
        subscription.secret = secret
        return Response(WebhookSecretSerializer(subscription).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WebhookSubscriptionInSerializer, responses={200: WebhookSubscriptionSerializer})
    def partial_update(self, request, pk=None):
        subscription = self.get_object()
        data = self._valid(request.data, partial=True)
        subscription = webhooks.update_subscription(subscription=subscription, **data)
        return Response(WebhookSubscriptionSerializer(subscription).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        """Stop a subscription (kept with its delivery log; nothing more is queued)."""
        webhooks.update_subscription(subscription=self.get_object(), is_active=False)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: WebhookSecretSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new signing secret (shown once); the old one keeps signing beside it for the
        overlap period (`previous_secret_expires_at`)."""
        subscription = self.get_object()
        subscription.secret = webhooks.rotate_secret(subscription=subscription)
        return Response(WebhookSecretSerializer(subscription).data)

    @extend_schema(request=None, responses={200: WebhookSubscriptionSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Close the circuit breaker: queued deliveries go out again, in order."""
        subscription = webhooks.resume_subscription(subscription=self.get_object())
        return Response(WebhookSubscriptionSerializer(subscription).data)

    @extend_schema(request=None, responses={200: ReplayedSerializer})
    @action(detail=True, methods=["post"], url_path="replay-dead")
    def replay_dead(self, request, pk=None):
        """Put the dead-letter deliveries back in the queue."""
        return Response({"replayed": webhooks.replay_dead(subscription=self.get_object())})


class WebhookDeliveryViewSet(
    OwnSubscriptionsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerViewSet
):
    """The delivery log: newest first; filter by `subscription` (one subscription's log),
    `status` (e.g. `dead`: the dead-letter list) or `event_name`. A delivery shows each attempt's status code and response time."""

    scope_resource = "webhooks"
    queryset = WebhookDelivery.objects.all()
    serializer_class = WebhookDeliverySerializer
    filterset_class = DeliveryFilter

    def get_queryset(self):
        queryset = self.own(super().get_queryset(), "subscription__client_id")
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("attempt_log")
        return queryset

    def get_serializer_class(self):
        return WebhookDeliveryDetailSerializer if self.action == "retrieve" else WebhookDeliverySerializer

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def redeliver(self, request, pk=None):
        """Send this delivery again now (same event id: deduplicate by it)."""
        from ..tasks import redeliver_webhook_task

        delivery = self.get_object()
        enqueue_job(redeliver_webhook_task, delivery.pk)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
