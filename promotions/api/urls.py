"""Partner API of promotions: campaigns, coupon templates, coupons (claim, status, redeem)."""

from rest_framework.routers import SimpleRouter

from .campaigns import CampaignViewSet, CouponTemplateViewSet
from .coupons import CouponViewSet

router = SimpleRouter(trailing_slash=True)
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("coupon-templates", CouponTemplateViewSet, basename="coupon-template")
router.register("coupons", CouponViewSet, basename="coupon")

urlpatterns = [*router.urls]
