"""Campaigns and coupon templates for partners (`campaigns:read`, `coupons:read`).

GET /api/v1/campaigns/?status=published          campaigns with phases and stores
GET /api/v1/campaigns/{id}/
GET /api/v1/coupon-templates/?campaign=&is_active=  templates with remaining stock
GET /api/v1/coupon-templates/{id}/
"""

from __future__ import annotations

import django_filters
from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response

from retail.api.base import IdFilter, PartnerViewSet
from retail.models import Store

from ..choices import CampaignStatus
from ..models import Campaign, CampaignPhase, CouponTemplate
from ..services import campaigns as services
from .serializers import (
    CampaignInSerializer,
    CampaignSerializer,
    CampaignUpdateSerializer,
    CouponTemplateSerializer,
)


def _windows(phases: dict) -> dict:
    return {
        kind: (window["starts_at"], window["ends_at"]) if window else None for kind, window in phases.items()
    }


class CampaignFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CampaignStatus.choices)

    class Meta:
        model = Campaign
        fields = ["status", "current_phase"]


class CampaignViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerViewSet):
    """The brand's campaigns, newest first, each with its phases and participating stores."""

    scope_resource = "campaigns"
    queryset = Campaign.objects.prefetch_related(
        Prefetch("phases", queryset=CampaignPhase.objects.order_by("starts_at"), to_attr="ordered_phases"),
        Prefetch("stores", queryset=Store.objects.order_by("id"), to_attr="ordered_stores"),
    )
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter

    def _fresh(self, pk: int) -> Campaign:
        return self.get_queryset().get(pk=pk)

    @extend_schema(request=CampaignInSerializer, responses={201: CampaignSerializer})
    def create(self, request):
        serializer = CampaignInSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():  # refused phases leave no campaign behind
            campaign = services.create_campaign(
                brand_id=self.principal.brand_id,
                name=data["name"],
                stores=data["stores"],
                description=data["description"],
                switches_shelves=data["switches_shelves"],
            )
            if data.get("phases"):
                services.set_phases(campaign=campaign, phases=_windows(data["phases"]))
        return Response(CampaignSerializer(self._fresh(campaign.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CampaignUpdateSerializer, responses={200: CampaignSerializer})
    def partial_update(self, request, pk=None):
        campaign = self.get_object()  # another brand's campaign is a 404 before any validation
        serializer = CampaignUpdateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():  # details and phases change together, or not at all
            if set(data) - {"phases"}:
                current = self._fresh(campaign.pk)
                campaign = services.update_campaign(
                    campaign=campaign,
                    name=data.get("name", current.name),
                    stores=data.get("stores", [s.pk for s in current.ordered_stores]),
                    description=data.get("description", current.description),
                    switches_shelves=data.get("switches_shelves", current.switches_shelves),
                )
            if data.get("phases"):
                services.set_phases(campaign=campaign, phases=_windows(data["phases"]))
        return Response(CampaignSerializer(self._fresh(campaign.pk)).data)


class CouponTemplateFilter(django_filters.FilterSet):
    campaign = IdFilter(field_name="campaign_id")

    class Meta:
        model = CouponTemplate
        fields = ["campaign", "is_active", "channel"]


class CouponTemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerViewSet):
    """The brand's coupon templates, newest first, with their remaining stock."""

    scope_resource = "coupons"
    queryset = CouponTemplate.objects.select_related("campaign").prefetch_related("tiers", "valid_stores")
    serializer_class = CouponTemplateSerializer
    filterset_class = CouponTemplateFilter
