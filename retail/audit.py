"""Audit trail: who did what, when and from where. Services call `record()`.

The request's id, client address and user are kept in a context variable by
RequestIdMiddleware, so services need not pass the request down.
"""

from __future__ import annotations

import contextvars
import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from .models import AuditEvent


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    remote_addr: str | None = None
    user_id: int | None = None
    actor_label: str = ""


_EMPTY = RequestContext()
_context: contextvars.ContextVar[RequestContext] = contextvars.ContextVar("tiandi_request_context")


def current_context() -> RequestContext:
    return _context.get(_EMPTY)


def set_context(ctx: RequestContext) -> contextvars.Token:
    return _context.set(ctx)


def reset_context(token: contextvars.Token) -> None:
    _context.reset(token)


def snapshot(obj: models.Model) -> dict[str, Any]:
    """Concrete field values of a row, JSON-safe; encrypted and hidden fields left out."""
    data: dict[str, Any] = {}
    for f in obj._meta.concrete_fields:
        if f.name.endswith("_encrypted") or f.name.endswith("_hash"):
            continue
        data[f.attname] = f.value_from_object(obj)
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def record(
    action: str,
    obj: models.Model,
    *,
    actor_id: int | None = None,
    actor_label: str = "",
    brand_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    message: str = "",
) -> AuditEvent:
    """Write one AuditEvent; actor and request come from the context unless given."""
    ctx = current_context()
    if brand_id is None:
        brand_id = getattr(obj, "brand_id", None)
        if brand_id is None and obj._meta.label_lower == "retail.brand":
            brand_id = obj.pk
    return AuditEvent.objects.create(
        brand_id=brand_id,
        actor_id=actor_id if actor_id is not None else ctx.user_id,
        actor_label=(actor_label or ctx.actor_label)[:150],
        request_id=ctx.request_id,
        remote_addr=ctx.remote_addr,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        before=before,
        after=after,
        message=message[:255],
    )
