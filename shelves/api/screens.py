"""The screen API (`shelves:read` / `shelves:write`): the brand's cloud-shelf screens.

    GET   /api/v1/shelf-screens/?store=<id>&status=active
    GET   /api/v1/shelf-screens/{id}/
    POST  /api/v1/shelf-screens/             {"store", "name", "zone", "guide", "day_catalog", ...}
    PATCH /api/v1/shelf-screens/{id}/        any of name, zone, guide, catalogs, rotate_seconds
    POST  /api/v1/shelf-screens/{id}/retire/

The kiosk URL (a capability: whoever has it shows the screen) is in the creation's answer
only; lists and reads never carry it."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from retail.api.base import IdFilter, PartnerViewSet

from ..choices import ScreenStatus
from ..models import Screen
from ..selectors import screens as selectors
from ..services import screens as services
from .serializers import ScreenCreatedSerializer, ScreenInSerializer, ScreenSerializer, ScreenUpdateSerializer


class ScreenFilter(django_filters.FilterSet):
    store = IdFilter(field_name="store_id")
    status = django_filters.ChoiceFilter(choices=ScreenStatus.choices)

    class Meta:
        model = Screen
        fields = ["store", "status"]


class ScreenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerViewSet):
    """The brand's screens, newest first; filter by `store` (id) or `status`."""

    scope_resource = "shelves"
    queryset = Screen.objects.select_related("store", "device")
    serializer_class = ScreenSerializer
    filterset_class = ScreenFilter

    def _values(self, data: dict, store) -> dict:
        """Service keyword arguments; the guide id resolves among the store's guides only."""
        values = dict(data)
        values.pop("store", None)
        if "guide" in values and values["guide"] is not None:
            guide = (
                selectors.guides_of_store(principal=self.principal, store=store)
                .filter(pk=values["guide"])
                .first()
            )
            if guide is None:
                raise serializers.ValidationError({"guide": [_("Choose a guide of the screen's store.")]})
            values["guide"] = guide
        return values

    @extend_schema(request=ScreenInSerializer, responses={201: ScreenCreatedSerializer})
    def create(self, request):
        serializer = ScreenInSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        store = serializer.validated_data["store"]
        screen = services.create_screen(store=store, **self._values(serializer.validated_data, store))
        screen = self.get_queryset().get(pk=screen.pk)
        return Response(
            ScreenCreatedSerializer(screen, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=ScreenUpdateSerializer, responses={200: ScreenSerializer})
    def partial_update(self, request, pk=None):
        screen = self.get_object()  # another brand's screen is a 404 before any validation
        serializer = ScreenUpdateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        services.update_screen(screen=screen, **self._values(serializer.validated_data, screen.store))
        return Response(ScreenSerializer(self.get_queryset().get(pk=screen.pk)).data)

    @extend_schema(request=None, responses={200: ScreenSerializer})
    @action(detail=True, methods=["post"])
    def retire(self, request, pk=None):
        """Retire the screen for good (its kiosk page says so, its device is retired); a
        repeat answers the retired screen again."""
        screen = self.get_object()
        services.retire_screen(screen=screen)
        return Response(ScreenSerializer(self.get_queryset().get(pk=screen.pk)).data)
