"""Partner API of cloud-shelf statistics.

- `GET /api/v1/shelf-stats/` (ShelfStatsView): impressions, scans, orders and GMV through
  scans, and conversion, in a range of brand-local days, grouped by screen, product or hour,
  with totals. Query: `store`, `screen` (ids; another brand's id simply matches nothing),
  `date_from`, `date_to` (YYYY-MM-DD, default the last 7 days and today, at most 92 days),
  `group_by` (`screen` | `product` | `hour`, default `screen`). Unknown or bad parameters
  are a 400 in the shared error shape.

- `GET /api/v1/shelf-stats/restock/` (ShelfRestockView): restocking hints, the products
  shoppers scanned at a store's screens that the store does not stock (no stock row or a
  stock of 0, shelves.stock's rule), most scanned first. Query: `store`, `screen`,
  `date_from`, `date_to` as above, `limit` (1-200, default 50). Another brand's store or
  screen matches nothing: an empty list, never its figures.

Scope resource "shelves" (`shelves:read`). Orders count in the hour of the scan they came
through (see shelves.selectors.stats).
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from retail.api.base import MAX_ID, PartnerAPIView, StrictSerializer

from ..selectors import stats as selectors


class ShelfStatsQuerySerializer(StrictSerializer):
    store = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    screen = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    date_from = serializers.DateField(required=False, help_text="First local day (YYYY-MM-DD)")
    date_to = serializers.DateField(required=False, help_text="Last local day, included (YYYY-MM-DD)")
    group_by = serializers.ChoiceField(choices=list(selectors.GROUPS), required=False, default="screen")


class FiguresSerializer(serializers.Serializer):
    impressions = serializers.IntegerField(help_text="Product cards shown on the screens")
    scans = serializers.IntegerField()
    orders = serializers.IntegerField(help_text="Orders through the scans (cancelled ones excluded)")
    gmv = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Their totals, CNY")
    conversion = serializers.FloatField(allow_null=True, help_text="orders / scans; null without scans")


class ShelfStatsRowSerializer(FiguresSerializer):
    """One group's figures; which key fields are set depends on `group_by`."""

    screen = serializers.IntegerField(required=False, help_text="group_by=screen")
    screen_name = serializers.CharField(required=False, help_text="group_by=screen")
    zone = serializers.CharField(required=False, help_text="group_by=screen")
    status = serializers.CharField(required=False, help_text="group_by=screen: active or retired")
    store = serializers.IntegerField(required=False, help_text="group_by=screen")
    store_name = serializers.CharField(required=False, help_text="group_by=screen")
    product = serializers.IntegerField(required=False, help_text="group_by=product")
    sku = serializers.CharField(required=False, help_text="group_by=product")
    name = serializers.CharField(required=False, help_text="group_by=product")
    hour = serializers.DateTimeField(required=False, help_text="group_by=hour: the local hour's start")


class ShelfStatsSerializer(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    timezone = serializers.CharField(help_text="The time zone of the days and hours")
    group_by = serializers.ChoiceField(choices=list(selectors.GROUPS))
    totals = FiguresSerializer()
    results = ShelfStatsRowSerializer(many=True)


_ROW_KEYS = {
    "screen": ("screen", "screen_name", "zone", "status", "store", "store_name"),
    "product": ("product", "sku", "name"),
    "hour": ("hour",),
}
_FIGURES = ("impressions", "scans", "orders", "gmv", "conversion")


class ShelfStatsView(PartnerAPIView):
    """Cloud-shelf statistics of the brand, grouped by screen, product or hour."""

    scope_resource = "shelves"

    @extend_schema(
        parameters=[ShelfStatsQuerySerializer],
        responses={200: ShelfStatsSerializer},
    )
    def get(self, request):
        q = _query(request, ShelfStatsQuerySerializer)
        rng = selectors.stats_range(date_from=q.get("date_from"), date_to=q.get("date_to"))
        data = selectors.stats(
            principal=self.principal,
            rng=rng,
            group_by=q["group_by"],
            store_id=q.get("store"),
            screen_id=q.get("screen"),
        )
        keys = _ROW_KEYS[q["group_by"]] + _FIGURES
        data["results"] = [{k: row[k] for k in keys} for row in data["results"]]
        return Response(ShelfStatsSerializer(data).data)


class RestockQuerySerializer(StrictSerializer):
    store = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    screen = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    date_from = serializers.DateField(required=False, help_text="First local day (YYYY-MM-DD)")
    date_to = serializers.DateField(required=False, help_text="Last local day, included (YYYY-MM-DD)")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)


class RestockHintSerializer(serializers.Serializer):
    store = serializers.IntegerField()
    store_name = serializers.CharField()
    product = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    scans = serializers.IntegerField(help_text="Scans of the product at the store's screens in the range")


class RestockSerializer(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    timezone = serializers.CharField(help_text="The time zone of the days")
    results = RestockHintSerializer(many=True)


def _query(request, serializer_class):
    repeated = sorted(k for k, values in request.query_params.lists() if len(values) > 1)
    if repeated:
        raise serializers.ValidationError({k: ["Give this parameter once."] for k in repeated})
    params = {k: v for k, v in request.query_params.items() if k != "format"}
    query = serializer_class(data=params)
    query.is_valid(raise_exception=True)
    return query.validated_data


class ShelfRestockView(PartnerAPIView):
    """Restocking hints of the brand: products scanned at a store's screens that the store
    does not stock, most scanned first."""

    scope_resource = "shelves"

    @extend_schema(
        operation_id="shelf_stats_restock",
        parameters=[RestockQuerySerializer],
        responses={200: RestockSerializer},
        description="Products shoppers scanned at a store's screens that the store does not stock "
        "(no stock row, or a stock of 0), most scanned first. Scope `shelves:read`. Another "
        "brand's store or screen matches nothing.",
    )
    def get(self, request):
        q = _query(request, RestockQuerySerializer)
        rng = selectors.stats_range(date_from=q.get("date_from"), date_to=q.get("date_to"))
        hints = selectors.restock_hints(
            principal=self.principal,
            rng=rng,
            store_id=q.get("store"),
            screen_id=q.get("screen"),
            limit=q["limit"],
        )
        return Response(
            RestockSerializer(
                {
                    "date_from": rng.date_from,
                    "date_to": rng.date_to,
                    "timezone": settings.TIME_ZONE,
                    "results": hints,
                }
            ).data
        )
