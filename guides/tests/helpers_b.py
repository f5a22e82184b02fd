"""Helpers of helper B's tests (calls, providers, messaging): principals and signed bodies."""

from __future__ import annotations

import json

from guides.providers import signing
from retail.models import StaffRole
from retail.tenancy import principal_for_role


def principal_of(user):
    return principal_for_role(StaffRole.objects.select_related("user").get(user=user))


def signed(
    kind: str, payload: dict, *, secret: str | None = None, at: float | None = None
) -> tuple[bytes, dict]:
    body = json.dumps(payload).encode()
    header = signing.sign(secret or signing.secret_for(kind), body, at=at)
    return body, {signing.HEADER: header}
