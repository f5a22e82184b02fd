from rest_framework.routers import SimpleRouter

from .views import OrderViewSet, ProductViewSet, StoreViewSet

router = SimpleRouter()
router.register("stores", StoreViewSet, basename="store")
router.register("products", ProductViewSet, basename="product")
router.register("orders", OrderViewSet, basename="order")
urlpatterns = router.urls
