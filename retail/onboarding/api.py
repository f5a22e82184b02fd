"""Partner API of onboarding: stores' onboarding state as recorded (scope `stores:read`).

GET /api/v1/onboarding/            every store of the brand (filter ?status=onboarding, ?code=)
GET /api/v1/onboarding/{store_id}/ one store
Each: store, code, status, started_at, live_at, current_step and the steps in wizard order
with done / started_at / completed_at / seconds. Thin: reads through the selectors."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers
from rest_framework.response import Response

from ..api.base import PartnerViewSet
from ..api.filters import StoreFilter
from ..models import Store
from . import selectors

_Step = inline_serializer(
    "OnboardingStepState",
    {
        "key": serializers.CharField(),
        "title": serializers.CharField(),
        "required": serializers.BooleanField(),
        "done": serializers.BooleanField(),
        "started_at": serializers.DateTimeField(allow_null=True),
        "completed_at": serializers.DateTimeField(allow_null=True),
        "seconds": serializers.IntegerField(allow_null=True),
    },
    many=True,
)


class OnboardingStateSerializer(serializers.Serializer):
    store = serializers.IntegerField()
    code = serializers.CharField()
    status = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    live_at = serializers.DateTimeField(allow_null=True)
    current_step = serializers.CharField()
    steps = _Step


class OnboardingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerViewSet):
    """Stores' onboarding state: the current step and each step's completion."""

    scope_resource = "stores"
    queryset = Store.objects.select_related("onboarding")
    serializer_class = OnboardingStateSerializer
    filterset_class = StoreFilter

    def _states(self, stores: list[Store]) -> list[dict]:
        rows = selectors.stored_steps(store_ids=[s.pk for s in stores])
        return [selectors.state_of(s, rows.get(s.pk, {})) for s in stores]

    @extend_schema(responses={200: OnboardingStateSerializer(many=True)})
    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = OnboardingStateSerializer(self._states(list(page)), many=True).data
        return self.get_paginated_response(data)

    @extend_schema(responses={200: OnboardingStateSerializer})
    def retrieve(self, request, pk=None):
        store = self.get_object()
        return Response(OnboardingStateSerializer(self._states([store])[0]).data)
