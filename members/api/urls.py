from rest_framework.routers import SimpleRouter

from .segments import SegmentViewSet, TagViewSet
from .views import MemberViewSet

router = SimpleRouter()
router.register("members", MemberViewSet, basename="member")
router.register("tags", TagViewSet, basename="tag")
router.register("segments", SegmentViewSet, basename="segment")
urlpatterns = router.urls
