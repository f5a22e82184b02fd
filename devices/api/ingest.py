"""Telemetry ingestion: `POST /api/v1/devices/{id}/events/` with the device's own credential.

Request (at most 1,000 events, the body within API_MAX_BODY_BYTES):

    Authorization: Bearer tdv_<prefix>_<secret>
    {"events": [{"seq": 41, "occurred_at": "2026-11-26T10:00:00+08:00",
                 "type": "heartbeat", "payload": {"firmware": "2.1.0"}}, ...]}

Answer 200, indexes into the request's `events`:

    {"accepted": [0, 2], "duplicates": [1],
     "rejected": [{"index": 3, "code": "schema_invalid", "message": "payload/count: ..."}],
     "counts": {"accepted": 2, "duplicates": 1, "rejected": 1}}

Errors (one error shape, nothing stored): 400 `malformed_json` / `invalid`, 401 a wrong or
missing credential, 403 a retired device (`device_retired`) or a partner token (only the
device itself sends its events), 404 another device or another brand's, 413 over 1,000
events (`batch_too_large`) or over the body size (`payload_too_large`).
"""

from __future__ import annotations

import io

import orjson
from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from retail.api.auth import BearerTokenAuthentication
from retail.api.base import PartnerAPIView
from retail.api.parsers import JSONParser
from retail.errors import DomainError
from retail.tenancy import scope

from ..models import Device
from ..services import ingest as services
from .auth import DeviceCredentialAuthentication, DeviceOrPartnerScope, authenticated_device

_EventIn = inline_serializer(
    "DeviceEventIn",
    {
        "seq": serializers.IntegerField(min_value=0),
        "occurred_at": serializers.DateTimeField(),
        "type": serializers.CharField(),
        "payload": serializers.JSONField(required=False),
    },
    many=True,
)
_Rejected = inline_serializer(
    "DeviceEventRejected",
    {
        "index": serializers.IntegerField(),
        "code": serializers.CharField(),
        "message": serializers.CharField(),
    },
    many=True,
)
_BatchIn = inline_serializer("DeviceEventBatchIn", {"events": _EventIn})
_BatchOut = inline_serializer(
    "DeviceEventBatchResult",
    {
        "accepted": serializers.ListField(child=serializers.IntegerField()),
        "duplicates": serializers.ListField(child=serializers.IntegerField()),
        "rejected": _Rejected,
        "counts": serializers.DictField(child=serializers.IntegerField()),
    },
)


class DeviceEventsView(PartnerAPIView):
    """A device's batch of telemetry events (see the module docstring)."""

    scope_resource = "devices"
    authentication_classes = [DeviceCredentialAuthentication, BearerTokenAuthentication]
    permission_classes = [DeviceOrPartnerScope]
    device_actions = frozenset({"post"})
    queryset = Device.objects.all()  # the model of `pk` (the isolation walk reads it)

    def get_queryset(self):
        return scope(Device.objects.all(), self.principal)

    @extend_schema(
        request=_BatchIn,
        responses={200: _BatchOut},
        examples=[
            OpenApiExample(
                "Two heartbeats",
                request_only=True,
                value={
                    "events": [
                        {
                            "seq": 1,
                            "occurred_at": "2026-11-26T10:00:00+08:00",
                            "type": "heartbeat",
                            "payload": {},
                        },
                        {
                            "seq": 2,
                            "occurred_at": "2026-11-26T10:01:00+08:00",
                            "type": "heartbeat",
                            "payload": {"firmware": "2.1.0"},
                        },
                    ]
                },
            )
        ],
    )
    def post(self, request, pk: int):
        device = authenticated_device(request)
        if device is None:
            # a partner token: another brand's device is a 404 like everywhere, its own a 403
            get_object_or_404(self.get_queryset(), pk=pk)
            raise exceptions.PermissionDenied("Only the device's own credential may send its events.")
        if device.pk != pk:
            raise Http404
        if len(request._request.body) > settings.API_MAX_BODY_BYTES:
            raise DomainError(
                "payload_too_large",
                f"Request body exceeds {settings.API_MAX_BODY_BYTES} bytes.",
                status=413,
            )
        body = _parse_body(request)
        if not isinstance(body, dict) or "events" not in body:
            raise exceptions.ValidationError({"events": ["A list of events is required."]})
        unknown = sorted(set(body) - {"events"})
        if unknown:
            raise exceptions.ValidationError({k: ["Unknown field."] for k in unknown})
        result = services.ingest_events(device=device, events=body["events"])
        return Response(result.as_dict())


# Bytes mapping every digit to "0" and anything else to " ": a run of 20 zeros after the
# translation is an integer orjson would read as a float (it keeps 64 bits).
_DIGITS = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
_JSON_TYPES = frozenset(
    {"application/json", "application/json; charset=utf-8", "application/json;charset=utf-8"}
)


def _parse_body(request):
    """The JSON body. The usual batch is read with orjson (~3x faster than json on a batch of
    500); a body orjson would read differently from the API's hardened parser (an escape
    that may spell a NUL or a surrogate, an integer beyond 64 bits), one it refuses (the
    error comes from the hardened parser, so it reads the same), or another content type
    goes through DRF's parsing as everywhere else."""
    content_type = request.META.get("CONTENT_TYPE", "").lower()
    raw = request._request.body
    if not raw or content_type not in _JSON_TYPES:
        return request.data  # DRF as everywhere: 415 for what is not JSON, {} for no body
    if b"\\u" not in raw and b"0" * 20 not in raw.translate(_DIGITS):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return JSONParser().parse(io.BytesIO(raw), "application/json", {"request": request})
