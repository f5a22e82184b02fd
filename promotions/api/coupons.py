"""Coupons for partners: claim one for a member, look one up by code, redeem one on an order.

    POST /api/v1/coupons/claim/          {"template", "member" | "member_phone", "store"?}   coupons:write
    GET  /api/v1/coupons/{code}/         status, template, member, redemption                 coupons:read
    POST /api/v1/coupons/{code}/redeem/  {"store" | "store_code", "subtotal", "order_ref"?, "member"?}  coupons:write

A claim with an `Idempotency-Key` happens once: the first answer is 201, a repeat (even a
concurrent one) answers 200 with the same coupon and takes no stock. Claims go through the
Redis stock gate (promotions.services.stockgate) where Redis is configured.

Looking up and redeeming by code are guarded against code guessing: too many unknown codes
from one token (or, when redeeming, at one store) answer 429 with `Retry-After`. An unknown
code, another brand's, or another member's (when `member` is given) is the same 404
`coupon_not_found`: nothing tells a guesser which codes exist."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from retail.api import idempotency
from retail.api.base import PartnerViewSet
from retail.errors import NotFound

from ..choices import ClaimVia, RedemptionSource
from ..models import Coupon
from ..services import coupons as services
from ..services import guard, stockgate
from .serializers import ClaimInSerializer, CouponSerializer, RedeemedSerializer, RedeemInSerializer


def claim_key(client_id: int, key: str | None) -> str:
    """The claim key the service dedups on: per API client, short enough for the column."""
    if not key:
        return ""
    key = key.strip()
    if len(key) > 80:
        key = hashlib.sha256(key.encode()).hexdigest()
    return f"api:{client_id}:{key}"


class CouponViewSet(PartnerViewSet):
    """The brand's coupons, by code."""

    scope_resource = "coupons"
    queryset = Coupon.objects.select_related("template", "redemption__store")
    serializer_class = CouponSerializer
    lookup_field = "code"
    lookup_value_regex = "[^/]{1,64}"
    pagination_class = None
    filterset_class = None

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(exc, guard.RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        elif isinstance(exc, idempotency.Replay) and self.action == "claim" and response.status_code == 201:
            response.status_code = status.HTTP_200_OK  # the same coupon, nothing new created
        return response

    def _guarded_lookup(self, code: str, *, store_id: int | None = None) -> None:
        guard.check_code_attempt(api_client_id=self.principal.api_client_id, store_id=store_id)

    def _failed(self, *, store_id: int | None = None) -> None:
        guard.record_code_failure(api_client_id=self.principal.api_client_id, store_id=store_id)

    @extend_schema(
        request=ClaimInSerializer,
        responses={
            201: CouponSerializer,
            200: OpenApiResponse(CouponSerializer, description="A repeat of an Idempotency-Key."),
        },
        summary="Claim a coupon for a member",
        description="Refusals: `sold_out` (409), `limit_reached` (409), `tier_not_eligible` (403), "
        "`template_inactive`, `campaign_not_live`, `template_expired` (422), "
        "`idempotency_key_reused` (409/422).",
    )
    @action(detail=False, methods=["post"], url_path="claim")
    def claim(self, request):
        self._refuse_if_known_sold_out(request.data)
        serializer = ClaimInSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = stockgate.claim(
            template=data["template"],
            member=data["member"],
            via=ClaimVia.API,
            key=claim_key(self.principal.api_client_id, request.headers.get(idempotency.HEADER)),
            store=data.get("store"),
        )
        coupon = result.coupon
        coupon.template = data["template"]
        return Response(
            CouponSerializer(coupon).data,
            status=status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED,
        )

    def _refuse_if_known_sold_out(self, data) -> None:
        """The flash-sale crowd after the last coupon: when the brand's stock counter in
        Redis already says 0, answer sold_out before reading the template or the member. Only
        for a well-formed body (bad input still gets its 400); another brand's template has
        no counter under this brand, so this says nothing about it."""
        if not isinstance(data, dict) or set(data) - set(ClaimInSerializer().fields):
            return
        template_id = data.get("template")
        if type(template_id) is not int or not 0 < template_id < 2**63:
            return
        if stockgate.known_sold_out(brand_id=self.principal.brand_id, template_id=template_id):
            raise services.CouponRefused("sold_out", _("This coupon is all gone."), status=409)

    @extend_schema(
        responses={200: CouponSerializer},
        summary="A coupon's status by its code",
        description="404 `coupon_not_found` for an unknown code or another brand's; 429 "
        "`rate_limited` with Retry-After after too many unknown codes.",
    )
    def retrieve(self, request, code=None):
        self._guarded_lookup(code)
        normal = services.normalise_code(code)
        coupon = self.get_queryset().filter(code=normal).first() if normal else None
        if coupon is None or coupon.status == "reserved":
            self._failed()
            raise services.not_found()
        return Response(CouponSerializer(coupon).data)

    @extend_schema(
        request=RedeemInSerializer,
        responses={201: RedeemedSerializer},
        summary="Redeem a coupon on an order in a store",
        description="Refusals: `coupon_not_found` (404), `already_redeemed` (409), "
        "`coupon_expired`, `coupon_not_yet_valid`, `wrong_channel`, `wrong_store`, "
        "`threshold_not_met`, `coupon_void` (422), `tier_not_eligible` (403), "
        "`rate_limited` (429 with Retry-After).",
    )
    @action(detail=True, methods=["post"], url_path="redeem")
    def redeem(self, request, code=None):
        serializer = RedeemInSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        store = data["store"]
        self._guarded_lookup(code, store_id=store.pk)
        try:
            redemption = services.redeem_coupon(
                brand_id=self.principal.brand_id,
                code=code,
                store=store,
                subtotal=data["subtotal"],
                source=RedemptionSource.API,
                member=data.get("member"),
                order_ref=data.get("order_ref", ""),
            )
        except NotFound:
            self._failed(store_id=store.pk)
            raise
        subtotal = Decimal(data["subtotal"])
        body = {
            "code": redemption.coupon.code,
            "status": redemption.coupon.status,
            "discount": redemption.discount,
            "subtotal": subtotal,
            "total": subtotal - redemption.discount,
            "store": store.pk,
            "order_ref": redemption.order_ref,
            "redeemed_at": redemption.redeemed_at,
        }
        return Response(RedeemedSerializer(body).data, status=status.HTTP_201_CREATED)
