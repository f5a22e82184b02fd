from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from retail.api.base import PartnerViewSet

from .. import selectors, services
from ..choices import ConsentSource
from ..models import Member, Tier
from . import segments as segment_api
from .filters import MemberFilter
from .serializers import (
    ConsentInSerializer,
    ConsentRecordSerializer,
    MemberInSerializer,
    MemberSerializer,
    MemberUpdateSerializer,
    PointsAdjustInSerializer,
    PointsEntrySerializer,
    TierSerializer,
)


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("phone", str, description="Exact phone number (blind-index lookup)")]
    )
)
class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerViewSet):
    """Members of the brand; look one up by exact `?phone=`."""

    scope_resource = "members"
    queryset = Member.objects.select_related("tier")
    serializer_class = MemberSerializer
    filterset_class = MemberFilter

    @extend_schema(request=MemberInSerializer, responses={201: MemberSerializer})
    def create(self, request):
        serializer = MemberInSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        member = services.join_member(brand_id=self.principal.brand_id, **serializer.validated_data)
        return Response(MemberSerializer(member).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MemberUpdateSerializer, responses={200: MemberSerializer})
    def partial_update(self, request, pk=None):
        member = self.get_object()  # another brand's member is a 404 before any validation
        serializer = MemberUpdateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        member = services.update_member(
            member=member, consent_source=ConsentSource.API, **serializer.validated_data
        )
        return Response(MemberSerializer(member).data)

    @extend_schema(methods=["GET"], responses={200: PointsEntrySerializer(many=True)})
    @extend_schema(methods=["POST"], request=PointsAdjustInSerializer, responses={201: PointsEntrySerializer})
    @action(detail=True, methods=["get", "post"], url_path="points")
    def points(self, request, pk=None):
        """The member's points ledger, newest first; POST adjusts the balance with a reason
        (`kind: adjust`) or redeems points (`kind: spend`)."""
        member = self.get_object()  # another brand's member is a 404 before any validation
        if request.method == "POST":
            serializer = PointsAdjustInSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            if data["kind"] == "spend":
                entry = services.spend_points(member=member, points=data["points"], reason=data["reason"])
            else:
                entry = services.adjust_points(member=member, points=data["points"], reason=data["reason"])
            return Response(PointsEntrySerializer(entry).data, status=status.HTTP_201_CREATED)
        page = self.paginate_queryset(selectors.points_ledger(member=member))
        return self.get_paginated_response(PointsEntrySerializer(page, many=True).data)

    @extend_schema(methods=["GET"], responses={200: ConsentRecordSerializer(many=True)})
    @extend_schema(methods=["POST"], request=ConsentInSerializer, responses={201: ConsentRecordSerializer})
    @action(detail=True, methods=["get", "post"], url_path="consent")
    def consent(self, request, pk=None):
        """The member's consent history, newest first; POST records a grant or withdrawal."""
        member = self.get_object()
        if request.method == "POST":
            serializer = ConsentInSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            record = services.record_consent(
                member=member, source=ConsentSource.API, **serializer.validated_data
            )
            return Response(ConsentRecordSerializer(record).data, status=status.HTTP_201_CREATED)
        page = self.paginate_queryset(selectors.consent_history(member=member))
        return self.get_paginated_response(ConsentRecordSerializer(page, many=True).data)

    @extend_schema(methods=["GET"], responses={200: segment_api.TagSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        request=segment_api.MemberTagsInSerializer,
        responses={200: segment_api.TagSerializer(many=True)},
    )
    @action(detail=True, methods=["get", "post"], url_path="tags")
    def tags(self, request, pk=None):
        """The member's tags; POST {"add": [names], "remove": [names]} (new names become tags)."""
        member = self.get_object()  # another brand's member is a 404 before any validation
        return segment_api.member_tags(self, request, member)

    @extend_schema(responses={200: segment_api.SegmentSerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="segments")
    def segments(self, request, pk=None):
        """The materialised segments the member is in (a channel segment only with consent)."""
        return segment_api.member_segments(self, request, self.get_object())


class TierViewSet(mixins.ListModelMixin, PartnerViewSet):
    """The brand's tiers, lowest rank first: a member's `tier` is one of these codes."""

    scope_resource = "members"
    queryset = Tier.objects.order_by("rank")
    serializer_class = TierSerializer
    pagination_class = None  # a handful per brand
