from rest_framework.routers import SimpleRouter

from .segments import SegmentViewSet, TagViewSet
from .views import MemberViewSet, TierViewSet

router = SimpleRouter()
router.register("members", MemberViewSet, basename="member")
router.register("tags", TagViewSet, basename="tag")
router.register("segments", SegmentViewSet, basename="segment")
router.register("tiers", TierViewSet, basename="tier")
urlpatterns = router.urls
