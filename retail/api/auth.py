"""Bearer tokens and scopes for the partner API."""

from __future__ import annotations

import hmac

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from .. import selectors, services
from ..services import TOKEN_PREFIX, hash_token
from ..tenancy import principal_for_api_client


class PartnerUser:
    """What `request.user` is for a token: authenticated, not a Django user."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, client):
        self.client = client

    def __str__(self) -> str:
        return f"api:{self.client.pk}:{self.client.name}"


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer tdk_<prefix>_<secret>`; only the hash is stored."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        kind, _, raw = header.partition(" ")
        if kind != self.keyword or not raw:
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <token>'.")
        parts = raw.strip().split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            raise exceptions.AuthenticationFailed("Invalid token.")
        token = selectors.token_by_prefix(prefix=parts[1])
        if token is None or not hmac.compare_digest(token.token_hash, hash_token(raw.strip())):
            raise exceptions.AuthenticationFailed("Invalid token.")
        now = timezone.now()
        if token.revoked_at or (token.expires_at and token.expires_at <= now):
            raise exceptions.AuthenticationFailed("Token revoked or expired.")
        if not token.client.is_active:
            raise exceptions.AuthenticationFailed("API client disabled.")
        services.note_token_use(token=token, now=now)
        request.principal = principal_for_api_client(token.client, token)
        return PartnerUser(token.client), token

    def authenticate_header(self, request):
        return self.keyword


class HasScope(permissions.BasePermission):
    """Views name a `scope_resource`; reads need `<resource>:read`, writes `<resource>:write`."""

    message = "This token lacks the scope for this operation."

    def has_permission(self, request, view) -> bool:
        principal = getattr(request, "principal", None)
        if principal is None or not principal.is_authenticated or request.auth is None:
            return False
        resource = getattr(view, "scope_resource", None)
        if resource is None:
            return principal.kind == "partner"
        verb = "read" if request.method in permissions.SAFE_METHODS else "write"
        needed = f"{resource}:{verb}"
        self.message = f"This token lacks the '{needed}' scope."
        return principal.has_scope(needed)
