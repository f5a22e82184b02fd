"""Partner API of onboarding (included under /api/v1/ by retail/urls.py)."""

from rest_framework.routers import SimpleRouter

from .api import OnboardingViewSet

router = SimpleRouter()
router.register("onboarding", OnboardingViewSet, basename="onboarding")

urlpatterns: list = [*router.urls]
