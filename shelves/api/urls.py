"""Partner API of cloud shelves: catalogs, screens and scan statistics."""

from rest_framework.routers import SimpleRouter

from .catalogs import CatalogViewSet
from .screens import ScreenViewSet

router = SimpleRouter(trailing_slash=True)
router.register("shelf-catalogs", CatalogViewSet, basename="shelf-catalog")
router.register("shelf-screens", ScreenViewSet, basename="shelf-screen")

urlpatterns = [*router.urls]
