from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import OrderViewSet, PingView, ProductViewSet, StoreViewSet

router = SimpleRouter()
router.register("stores", StoreViewSet, basename="store")
router.register("products", ProductViewSet, basename="product")
router.register("orders", OrderViewSet, basename="order")
urlpatterns = [path("ping/", PingView.as_view(), name="api-ping"), *router.urls]
