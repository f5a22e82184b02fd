"""Partner API of the data-backflow standard: a partner reads its own scorecard.

- `GET /api/v1/backflow/scorecard/` (BackflowScorecardView): the partner's daily score over
  the last 30 scored days, this month's score so far, the brand's reward / penalty lines and
  its notices.
- `GET /api/v1/backflow/device-days/` (BackflowDeviceDayViewSet, list only): its devices'
  daily scores of the last 30 days, cursor-paginated, `?day=YYYY-MM-DD` for one day.

Scope resource "devices" (`devices:read`). Only devices whose type names the calling API
client as its maker appear; other partners' and in-house devices never do.
"""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.response import Response

from retail.api.base import PartnerAPIView, PartnerViewSet

from ..models import DeviceDay, PartnerNotice
from ..selectors import backflow as selectors


class DailyScoreSerializer(serializers.Serializer):
    day = serializers.DateField()
    devices = serializers.IntegerField(help_text="Devices scored that day")
    score = serializers.FloatField(allow_null=True)


class NoticeSerializer(serializers.ModelSerializer):
    class Meta:
        model = PartnerNotice
        fields = ["month", "kind", "score", "created_at"]


class ScorecardSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    month = serializers.DateField(help_text="First day of the current month")
    month_score = serializers.FloatField(allow_null=True, help_text="This month so far")
    reward_at = serializers.FloatField()
    penalty_below = serializers.FloatField()
    daily = DailyScoreSerializer(many=True)
    notices = NoticeSerializer(many=True)


class DeviceDaySerializer(serializers.ModelSerializer):
    serial = serializers.CharField(source="device.serial")

    class Meta:
        model = DeviceDay
        fields = [
            "id",
            "device",
            "serial",
            "day",
            "received",
            "invalid",
            "gaps",
            "delay_p95_seconds",
            "timeliness",
            "completeness",
            "accuracy",
            "score",
        ]


class BackflowScorecardView(PartnerAPIView):
    """The calling partner's data-backflow scorecard (its own devices only)."""

    scope_resource = "devices"

    @extend_schema(responses={200: ScorecardSerializer})
    def get(self, request):
        card = selectors.partner_scorecard(principal=self.principal)
        return Response(ScorecardSerializer(card).data)


class DeviceDayFilter(django_filters.FilterSet):
    day = django_filters.DateFilter(field_name="day")

    class Meta:
        model = DeviceDay
        fields = ["day"]


class BackflowDeviceDayViewSet(mixins.ListModelMixin, PartnerViewSet):
    """The calling partner's devices' daily scores, last 30 days, newest rows first."""

    scope_resource = "devices"
    queryset = DeviceDay.objects.none()
    serializer_class = DeviceDaySerializer
    filterset_class = DeviceDayFilter

    def get_queryset(self):
        return selectors.partner_device_days(principal=self.principal)
