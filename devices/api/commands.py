"""The device's command queue: poll and acknowledge (e.g. `dispense` from a sample claim).

    GET  /api/v1/devices/{pk}/commands/                      pending commands, now delivered
    POST /api/v1/devices/{pk}/commands/{command_id}/ack/     acknowledge (idempotent)

A device uses its own credential and sees only its own queue: another device's id or command
is a 404. A partner token of the brand (the maker's cloud relaying for its devices) may read
the queue without taking commands off it (`devices:read`) and acknowledge (`devices:write`);
another brand's device is a 404 for it too."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from rest_framework import serializers
from rest_framework.response import Response

from retail.api.auth import BearerTokenAuthentication
from retail.api.base import PartnerAPIView
from retail.tenancy import scope

from ..models import Device, DeviceCommand
from ..selectors import dispensers as selectors
from ..services import dispensers as services
from .auth import DeviceCredentialAuthentication, DeviceOrPartnerScope, authenticated_device


class DeviceCommandSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeviceCommand
        fields = ["id", "name", "payload", "status", "created_at", "delivered_at", "acknowledged_at"]
        read_only_fields = fields


class _CommandQueueView(PartnerAPIView):
    authentication_classes = [DeviceCredentialAuthentication, BearerTokenAuthentication]
    permission_classes = [DeviceOrPartnerScope]
    scope_resource = "devices"
    queryset = Device.objects.all()  # the model of `pk` (scoped in `device()`)

    def device(self, pk: int) -> Device:
        """The URL's device: the authenticated device itself, or one of the partner's brand."""
        own = authenticated_device(self.request)
        if own is not None:
            if own.pk != pk:
                raise Http404
            return own
        return get_object_or_404(scope(Device.objects.all(), self.principal), pk=pk)


class DeviceCommandListView(_CommandQueueView):
    """The device's pending commands, oldest first (up to 50), now marked delivered; each
    command is handed out once. A partner reads pending and delivered commands, changing
    nothing."""

    serializer_class = DeviceCommandSerializer
    device_actions = ("get",)

    def get(self, request, pk: int):
        device = self.device(pk)
        if authenticated_device(request) is not None:
            commands = services.deliver_commands(device=device)
        else:
            commands = selectors.commands_in_flight(device=device)
        return Response({"results": DeviceCommandSerializer(commands, many=True).data})


class DeviceCommandAckView(_CommandQueueView):
    """Acknowledge one of the device's commands; a repeat answers the same."""

    serializer_class = DeviceCommandSerializer
    device_actions = ("post",)

    def post(self, request, pk: int, command_id: int):
        device = self.device(pk)
        command = services.acknowledge_command(device=device, command_id=command_id)
        return Response(DeviceCommandSerializer(command).data)
