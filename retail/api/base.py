"""The base every partner-API view uses: scoping, idempotency, strict input."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import django_filters
from django import forms
from django.db import transaction
from rest_framework import serializers, viewsets
from rest_framework.views import APIView

from .. import audit, requestlog
from ..tenancy import ANONYMOUS, scope
from . import idempotency
from .filtering import datetime_problem
from .parsers import JSONParser


class PartnerAPIMixin:
    """Scope the queryset to the token's brand; honour Idempotency-Key on every POST."""

    scope_resource: str | None = None
    parser_classes = [JSONParser]
    _idempotency = None

    @property
    def principal(self):
        return getattr(self.request, "principal", ANONYMOUS)

    def dispatch(self, request, *args, **kwargs):
        # A POST runs in one transaction: the idempotency key, the use case and the stored
        # response commit together (one commit, not three), and a concurrent request with
        # the same key waits on the key's row, then replays the stored answer. Services
        # keep their own atomic blocks (savepoints), so a refused use case still stores
        # its 4xx; an unhandled error rolls everything back and frees the key.
        requestlog.start(request)
        try:
            if request.method != "POST":
                return super().dispatch(request, *args, **kwargs)
            with transaction.atomic():
                return super().dispatch(request, *args, **kwargs)
        except Exception:
            # an unhandled error (the view's, or the commit's after the view answered) is
            # the 500 Django answers: the request log records it too, then Django logs it
            requestlog.record_status(getattr(self, "request", None) or request, 500)
            raise

    def get_queryset(self):
        return scope(super().get_queryset(), self.principal)

    def initial(self, request, *args, **kwargs):
        self._idempotency = None
        self._audit_token = None
        super().initial(request, *args, **kwargs)
        if self.principal.kind == "partner":
            # the audit trail names the API client as the actor of what services write
            ctx = audit.current_context()
            self._audit_token = audit.set_context(replace(ctx, actor_label=str(request.user)))
        if request.method == "POST":
            self._idempotency = idempotency.begin(request)

    def handle_exception(self, exc):
        if isinstance(exc, idempotency.Replay):
            return exc.response
        try:
            return super().handle_exception(exc)
        except Exception:
            if self._idempotency is not None:
                idempotency.release(self._idempotency)
                self._idempotency = None
            raise

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self._idempotency is not None:
            idempotency.finish(self._idempotency, response)
            self._idempotency = None
        if getattr(self, "_audit_token", None) is not None:
            audit.reset_context(self._audit_token)
            self._audit_token = None
        requestlog.record(request, response)  # partner tokens (also refused ones); buffered
        return response


class PartnerViewSet(PartnerAPIMixin, viewsets.GenericViewSet):
    pass


class PartnerAPIView(PartnerAPIMixin, APIView):
    def get_queryset(self):  # plain views have no queryset to scope
        raise NotImplementedError


class StrictMixin:
    """Unknown fields are an error, not silently dropped; so is a date-time out of the
    API's range (filtering.datetime_problem)."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, f in self.fields.items() if not f.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError({k: ["Unknown field."] for k in unknown})
        value = super().to_internal_value(data)
        if isinstance(value, Mapping):
            problems = {k: [p] for k, v in value.items() if (p := datetime_problem(v))}
            if problems:
                raise serializers.ValidationError(problems)
        return value


class StrictSerializer(StrictMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictMixin, serializers.ModelSerializer):
    pass


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference by id, resolved only among rows the caller may see."""

    def get_queryset(self):
        principal = getattr(self.context.get("request"), "principal", ANONYMOUS)
        return scope(super().get_queryset(), principal)


class ScopedSlugRelatedField(serializers.SlugRelatedField):
    """A reference by a code (store code, SKU), resolved only among rows the caller may see."""

    def get_queryset(self):
        principal = getattr(self.context.get("request"), "principal", ANONYMOUS)
        return scope(super().get_queryset(), principal)

    def to_internal_value(self, data):
        # Codes are strings; anything else (lists, objects, NUL bytes) never names a row.
        if isinstance(data, bool) or not isinstance(data, str | int) or "\x00" in str(data):
            self.fail("invalid")
        return super().to_internal_value(str(data))


MAX_ID = 2**63 - 1


class IdFilter(django_filters.Filter):
    """Filter by another row's id: an integer in the id range, never checked for existence
    (a choice filter would answer differently for another brand's id than for a missing one)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)
