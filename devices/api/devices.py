"""The device API for partner and HQ tokens (`devices:read`): the brand's devices, with their
status, last seen, firmware and type. A device credential may read its own record only.

    GET /api/v1/devices/?store=<id>&status=online&device_type=<id>
    GET /api/v1/devices/{id}/
"""

from __future__ import annotations

import django_filters
from rest_framework import mixins, serializers

from retail.api.auth import BearerTokenAuthentication
from retail.api.base import IdFilter, PartnerViewSet

from ..choices import DeviceStatus
from ..models import Device, DeviceType
from .auth import DeviceCredentialAuthentication, DeviceOrPartnerScope, authenticated_device


class DeviceTypeBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeviceType
        fields = ["id", "code", "name", "kind", "heartbeat_interval_seconds"]
        read_only_fields = fields


class DeviceSerializer(serializers.ModelSerializer):
    """A device as partners see it; never its credential."""

    store_code = serializers.CharField(source="store.code", read_only=True)
    device_type = DeviceTypeBriefSerializer(read_only=True)
    firmware_known = serializers.BooleanField(
        read_only=True,
        help_text="False when the device reported a firmware its type does not list (stored as reported).",
    )

    class Meta:
        model = Device
        fields = [
            "id",
            "serial",
            "name",
            "store",
            "store_code",
            "device_type",
            "status",
            "firmware",
            "firmware_known",
            "last_seen_at",
            "sample_stock",
            "created_at",
            "retired_at",
        ]
        read_only_fields = fields


class DeviceFilter(django_filters.FilterSet):
    store = IdFilter(field_name="store_id")
    device_type = IdFilter(field_name="device_type_id")
    status = django_filters.ChoiceFilter(choices=DeviceStatus.choices)

    class Meta:
        model = Device
        fields = ["store", "device_type", "status", "serial"]


class DeviceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerViewSet):
    """The brand's devices (`devices:read`), newest first; filter by `store` (id), `status`,
    `device_type` (id) or `serial`. A device credential may read its own record."""

    scope_resource = "devices"
    authentication_classes = [DeviceCredentialAuthentication, BearerTokenAuthentication]
    permission_classes = [DeviceOrPartnerScope]
    device_actions = frozenset({"retrieve"})
    queryset = Device.objects.select_related("device_type", "store")
    serializer_class = DeviceSerializer
    filterset_class = DeviceFilter

    def get_queryset(self):
        queryset = super().get_queryset()
        device = authenticated_device(self.request)
        return queryset.filter(pk=device.pk) if device is not None else queryset
