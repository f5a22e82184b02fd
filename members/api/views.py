from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.response import Response

from retail.api.base import PartnerViewSet

from .. import services
from ..models import Member
from .filters import MemberFilter
from .serializers import MemberInSerializer, MemberSerializer, MemberUpdateSerializer


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("phone", str, description="Exact phone number (blind-index lookup)")]
    )
)
class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerViewSet):
    """Members of the brand; look one up by exact `?phone=`."""

    scope_resource = "members"
    queryset = Member.objects.all()
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
        member = services.update_member(member=member, **serializer.validated_data)
        return Response(MemberSerializer(member).data)
