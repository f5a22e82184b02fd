"""Device credentials for the device API: `Authorization: Bearer tdv_<prefix>_<secret>`.

Only the prefix and a SHA-256 hash of the credential are stored (devices.services.registry).
A device authenticates as itself: `request.auth` is the Device, `request.user.device` too, and
`request.principal` sees its brand and its store only. Views that accept devices list this
authentication before the partner token one, which refuses anything that is not `tdk_...`:

    authentication_classes = [DeviceCredentialAuthentication, BearerTokenAuthentication]
    permission_classes = [DeviceOrPartnerScope]
"""

from __future__ import annotations

import hmac

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from retail.api.auth import HasScope
from retail.errors import DomainError
from retail.tenancy import Principal

from ..choices import DeviceStatus
from ..models import Device
from ..selectors.ingest import device_for_credential_prefix
from ..services.registry import CREDENTIAL_PREFIX, hash_credential


class DeviceUser:
    """What `request.user` is for a device credential: authenticated, not a Django user."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, device: Device):
        self.device = device

    def __str__(self) -> str:
        return f"device:{self.device.pk}:{self.device.serial}"


def principal_for_device(device: Device) -> Principal:
    """A device: its brand, its own store, no partner scopes (views decide what it may do)."""
    return Principal(kind="device", brand_id=device.brand_id, store_ids=frozenset({device.store_id}))


class DeviceCredentialAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer tdv_<prefix>_<secret>`. Any other header is left to the next
    authentication class (partner tokens). A wrong credential is a 401; a retired device's
    credential a 403 (`device_retired`)."""

    keyword = "Bearer"
    _start = f"{CREDENTIAL_PREFIX}_"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        kind, _, raw = header.partition(" ")
        raw = raw.strip()
        if kind != self.keyword or not raw.startswith(self._start):
            return None
        parts = raw.split("_", 2)
        device = None
        if len(parts) == 3 and parts[1] and parts[2]:
            device = device_for_credential_prefix(prefix=parts[1])
        if device is None or not hmac.compare_digest(device.credential_hash, hash_credential(raw)):
            raise exceptions.AuthenticationFailed("Invalid device credential.")
        if device.status == DeviceStatus.RETIRED or device.retired_at is not None:
            raise DomainError(
                "device_retired", "This device is retired; its credential no longer works.", status=403
            )
        request.principal = principal_for_device(device)
        return DeviceUser(device), device

    def authenticate_header(self, request):
        return self.keyword


class DeviceCredentialScheme(OpenApiAuthenticationExtension):
    """OpenAPI: the device credential, next to the partner token."""

    target_class = "devices.api.auth.DeviceCredentialAuthentication"
    name = "deviceCredential"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A device's own credential `tdv_<prefix>_<secret>` (shown once at "
            "registration and at each rotation).",
        }


def authenticated_device(request) -> Device | None:
    """The device whose credential authenticated the request, if a device's did."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, Device) else None


class DeviceOrPartnerScope(HasScope):
    """A device credential may use the view's `device_actions` (viewset actions, or lower-case
    HTTP methods for plain views), on its own device only (the view sees to that); a partner
    token needs `<scope_resource>:read` / `:write` as everywhere."""

    def has_permission(self, request, view) -> bool:
        if authenticated_device(request) is not None:
            action = getattr(view, "action", None) or request.method.lower()
            allowed = action in getattr(view, "device_actions", ())
            if not allowed:
                self.message = "A device credential may not do this."
            return allowed
        return super().has_permission(request, view)


__all__ = [
    "DeviceCredentialAuthentication",
    "DeviceCredentialScheme",
    "DeviceOrPartnerScope",
    "DeviceUser",
    "authenticated_device",
    "principal_for_device",
]
