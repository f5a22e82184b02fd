from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import OrderViewSet, PingView, ProductViewSet, StoreViewSet
from .webhooks import WebhookDeliveryViewSet, WebhookSubscriptionViewSet

router = SimpleRouter()
router.register("stores", StoreViewSet, basename="store")
router.register("products", ProductViewSet, basename="product")
router.register("orders", OrderViewSet, basename="order")
router.register("webhooks", WebhookSubscriptionViewSet, basename="webhook")
router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")
urlpatterns = [path("ping/", PingView.as_view(), name="api-ping"), *router.urls]
