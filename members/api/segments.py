"""Partner API of tags and segments: the brand's tags (list, create), a member's tags (list,
add / remove by name), segments (list, detail, members with consent re-checked) and a
member's segments. Thin: selectors and services of members.segments do the work."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from retail.api.base import PartnerViewSet, StrictSerializer

from ..choices import TagSource
from ..models import Segment, Tag
from ..selectors import segments as selectors
from ..services import segments as services
from .serializers import MemberSerializer

MAX_TAGS_PER_CALL = 50


class NameField(serializers.CharField):
    """A name, given as a string (a number is not quietly turned into one)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class TagSerializer(serializers.ModelSerializer):
    """A tag of the brand; `rule` is set for a tag applied by rule (see the rule language)."""

    class Meta:
        model = Tag
        fields = ["id", "name", "rule", "created_at"]
        read_only_fields = fields


class TagInSerializer(StrictSerializer):
    name = NameField(max_length=40)
    rule = serializers.JSONField(required=False, allow_null=True, default=None)


def _names(max_length: int = 40):
    return serializers.ListField(
        child=NameField(max_length=max_length), required=False, default=list, max_length=MAX_TAGS_PER_CALL
    )


class MemberTagsInSerializer(StrictSerializer):
    """Tags to add (created in the brand if new) and to remove, by name."""

    add = _names()
    remove = _names()

    def validate(self, attrs: dict) -> dict:
        if not attrs["add"] and not attrs["remove"]:
            raise serializers.ValidationError({"add": ["Give tags to add or to remove."]})
        return attrs


class SegmentSerializer(serializers.ModelSerializer):
    """A saved segment: its rules, channel, materialisation status and size."""

    class Meta:
        model = Segment
        fields = [
            "id",
            "name",
            "rules",
            "channel",
            "status",
            "progress",
            "size",
            "materialised_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TagViewSet(mixins.ListModelMixin, PartnerViewSet):
    """The brand's member tags; POST creates one (with `rule` for a rule tag, applied at once)."""

    scope_resource = "members"
    queryset = Tag.objects.all()
    serializer_class = TagSerializer

    @extend_schema(request=TagInSerializer, responses={201: TagSerializer})
    def create(self, request):
        serializer = TagInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tag = services.create_tag(brand_id=self.principal.brand_id, **serializer.validated_data)
        if tag.rule is not None:
            services.start_tag_refresh(tag=tag)
        return Response(TagSerializer(tag).data, status=status.HTTP_201_CREATED)


class SegmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerViewSet):
    """The brand's segments; `members/` lists a materialised segment's members, newest first,
    leaving out whoever withdrew consent on the segment's channel since."""

    scope_resource = "members"
    queryset = Segment.objects.all()
    serializer_class = SegmentSerializer

    @extend_schema(responses={200: MemberSerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="members")
    def members(self, request, pk=None):
        segment = self.get_object()
        qs = selectors.segment_members(principal=self.principal, segment=segment).select_related("tier")
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(MemberSerializer(page, many=True).data)


# --- actions of MemberViewSet (members/api/views.py adds them) --------------------------------


def member_tags(view, request, member):
    """GET: the member's tags. POST {"add": [...], "remove": [...]}: by name, idempotent."""
    if request.method == "POST":
        serializer = MemberTagsInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        for name in serializer.validated_data["add"]:
            services.tag_member(member=member, name=name, source=TagSource.API)
        removing = set(serializer.validated_data["remove"])
        for tag in selectors.tags_of(member=member):
            if tag.name in removing:
                services.untag_member(member=member, tag=tag)
    return Response({"results": TagSerializer(selectors.tags_of(member=member), many=True).data})


def member_segments(view, request, member):
    """The materialised segments the member belongs to (consent re-checked)."""
    qs = selectors.segments_of(principal=view.principal, member=member)
    page = view.paginate_queryset(qs)
    return view.get_paginated_response(SegmentSerializer(page, many=True).data)
