"""Partner API of cloud shelves: catalogs, screens and scan statistics."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .catalogs import CatalogViewSet
from .screens import ScreenViewSet
from .stats import ShelfRestockView, ShelfStatsView

router = SimpleRouter(trailing_slash=True)
router.register("shelf-catalogs", CatalogViewSet, basename="shelf-catalog")
router.register("shelf-screens", ScreenViewSet, basename="shelf-screen")

urlpatterns = [
    path("shelf-stats/", ShelfStatsView.as_view(), name="shelf-stats"),
    path("shelf-stats/restock/", ShelfRestockView.as_view(), name="shelf-stats-restock"),
    *router.urls,
]
