"""Campaigns and coupon templates for partners (`campaigns:read`, `coupons:read`).

GET /api/v1/campaigns/?status=published          campaigns with phases and stores
GET /api/v1/campaigns/{id}/
GET /api/v1/coupon-templates/?campaign=&is_active=  templates with remaining stock
GET /api/v1/coupon-templates/{id}/
"""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch
from rest_framework import mixins

from retail.api.base import IdFilter, PartnerViewSet
from retail.models import Store

from ..choices import CampaignStatus
from ..models import Campaign, CampaignPhase, CouponTemplate
from .serializers import CampaignSerializer, CouponTemplateSerializer


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
