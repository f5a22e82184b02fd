"""Partner API of the guide workbench: interactions and tasks (for brands whose CRM wants them)."""

from rest_framework.routers import SimpleRouter

from .views import GuideInteractionViewSet, GuideTaskViewSet

router = SimpleRouter(trailing_slash=True)
router.register("guide-interactions", GuideInteractionViewSet, basename="guide-interaction")
router.register("guide-tasks", GuideTaskViewSet, basename="guide-task")

urlpatterns = [*router.urls]
