"""Partner API of spaces (included under /api/v1/ by retail/urls.py)."""

from rest_framework.routers import SimpleRouter

from .api import SpaceViewSet

router = SimpleRouter()
router.register("spaces", SpaceViewSet, basename="space")

urlpatterns = router.urls
