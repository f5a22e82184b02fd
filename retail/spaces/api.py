"""Partner API of store spaces: list and read spaces, report occupancy from a device,
read utilisation per hour of day. Scopes `stores:read` / `stores:write`. Thin: validate,
call a service or selector."""

from __future__ import annotations

import datetime as dt

import django_filters
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from ..api.base import IdFilter, PartnerViewSet, StrictModelSerializer, StrictSerializer
from ..errors import InvalidInput
from . import selectors, services
from .models import Space, SpaceUse


class SpaceSerializer(StrictModelSerializer):
    people_now = serializers.SerializerMethodField()

    class Meta:
        model = Space
        fields = [
            "id",
            "store",
            "kind",
            "name",
            "location",
            "area_m2",
            "capacity",
            "opens_at",
            "closes_at",
            "tags",
            "is_active",
            "people_now",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_people_now(self, space) -> int:
        return getattr(space, "people_now", None) or 0


class OccupancyInSerializer(StrictSerializer):
    people = serializers.IntegerField(min_value=0, max_value=10_000)
    at = serializers.DateTimeField(required=False)
    device = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class UseSerializer(StrictModelSerializer):
    class Meta:
        model = SpaceUse
        fields = ["id", "space", "started_at", "ended_at", "people", "source", "device_id"]
        read_only_fields = fields


class OccupancyOutSerializer(serializers.Serializer):
    space = serializers.IntegerField()
    use = UseSerializer(allow_null=True)


class UtilisationHourSerializer(serializers.Serializer):
    hour = serializers.IntegerField()
    open_minutes = serializers.FloatField()
    used_minutes = serializers.FloatField()
    rate = serializers.FloatField(allow_null=True)


class UtilisationSerializer(serializers.Serializer):
    space = serializers.IntegerField()
    # "from" is a keyword: declared below
    to = serializers.DateField()
    hours = UtilisationHourSerializer(many=True)
    open_minutes = serializers.FloatField()
    used_minutes = serializers.FloatField()
    rate = serializers.FloatField(allow_null=True)


UtilisationSerializer._declared_fields["from"] = serializers.DateField()


class SpaceFilter(django_filters.FilterSet):
    store = IdFilter(field_name="store_id")

    class Meta:
        model = Space
        fields = {"kind": ["exact"], "is_active": ["exact"]}


class SpaceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerViewSet):
    """Spaces of the brand's stores (fitting rooms, VIP lounges, ...), with the people in
    each now."""

    scope_resource = "stores"
    queryset = Space.objects.all()
    serializer_class = SpaceSerializer
    filterset_class = SpaceFilter

    def get_queryset(self):
        return selectors.space_list(principal=self.principal).order_by("id")

    def _space(self, pk) -> Space:
        # looked up without the list's filters: another brand's space is a 404 before any
        # validation of the body or query
        return get_object_or_404(selectors.spaces_for(principal=self.principal), pk=pk)

    @extend_schema(
        request=OccupancyInSerializer,
        responses={200: OccupancyOutSerializer},
        summary="Report how many people are in a space",
    )
    @action(detail=True, methods=["post"], url_path="occupancy")
    def occupancy(self, request, pk=None):
        """A sensor's head count: `people` 0 closes the device's open use, more opens one or
        updates it. `at` defaults to now; `device` names the reporting device. Repeats are
        harmless."""
        space = self._space(pk)
        serializer = OccupancyInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        use = services.record_occupancy(
            space=space, people=data["people"], at=data.get("at"), device_id=data.get("device")
        )
        return Response({"space": space.pk, "use": UseSerializer(use).data if use else None})

    @extend_schema(
        parameters=[
            OpenApiParameter("from", dt.date, description="First local day (default: 6 days before `to`)"),
            OpenApiParameter("to", dt.date, description="Last local day (default: today)"),
        ],
        responses={200: UtilisationSerializer},
        summary="A space's utilisation per hour of day",
    )
    @action(detail=True, methods=["get"], url_path="utilisation")
    def utilisation(self, request, pk=None):
        """Minutes open and in use per hour of day over local days `from`..`to` (at most 92)."""
        space = self._space(pk)
        unknown = sorted(set(request.query_params) - {"from", "to"})
        if unknown:
            raise InvalidInput(
                "invalid",
                "The request has invalid fields.",
                fields={k[:64]: ["Unknown query parameter."] for k in unknown[:20]},
            )
        end = _date(request.query_params.get("to"), "to") or timezone.localdate()
        start = _date(request.query_params.get("from"), "from") or end - dt.timedelta(days=6)
        if end < start:
            raise InvalidInput("invalid", "`from` must not be after `to`.", fields={"from": ["After `to`."]})
        if (end - start).days >= selectors.MAX_RANGE_DAYS:
            raise InvalidInput(
                "invalid", f"At most {selectors.MAX_RANGE_DAYS} days.", fields={"to": ["Range too long."]}
            )
        return Response(selectors.utilisation(space=space, start=start, end=end))


def _date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            "invalid", "The request has invalid fields.", fields={name: ["Use YYYY-MM-DD."]}
        ) from None
