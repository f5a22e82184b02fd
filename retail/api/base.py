"""The base every partner-API view uses: scoping, idempotency, strict input."""

from __future__ import annotations

from collections.abc import Mapping

from rest_framework import serializers, viewsets
from rest_framework.views import APIView

from ..tenancy import ANONYMOUS, scope
from . import idempotency


class PartnerAPIMixin:
    """Scope the queryset to the token's brand; honour Idempotency-Key on every POST."""

    scope_resource: str | None = None
    _idempotency = None

    @property
    def principal(self):
        return getattr(self.request, "principal", ANONYMOUS)

    def get_queryset(self):
        return scope(super().get_queryset(), self.principal)

    def initial(self, request, *args, **kwargs):
        self._idempotency = None
        super().initial(request, *args, **kwargs)
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
        return response


class PartnerViewSet(PartnerAPIMixin, viewsets.GenericViewSet):
    pass


class PartnerAPIView(PartnerAPIMixin, APIView):
    def get_queryset(self):  # plain views have no queryset to scope
        raise NotImplementedError


class StrictMixin:
    """Unknown fields are an error, not silently dropped."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, f in self.fields.items() if not f.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError({k: ["Unknown field."] for k in unknown})
        return super().to_internal_value(data)


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
    def get_queryset(self):
        principal = getattr(self.context.get("request"), "principal", ANONYMOUS)
        return scope(super().get_queryset(), principal)
