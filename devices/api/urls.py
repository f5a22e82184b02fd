"""Device API routes: each area adds its viewsets / paths here."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .backflow import BackflowDeviceDayViewSet, BackflowScorecardView
from .commands import DeviceCommandAckView, DeviceCommandListView
from .devices import DeviceViewSet
from .ingest import DeviceEventsView

router = SimpleRouter()
router.register("devices", DeviceViewSet, basename="device")
router.register("backflow/device-days", BackflowDeviceDayViewSet, basename="backflow-device-day")

urlpatterns: list = [
    path("devices/<int:pk>/events/", DeviceEventsView.as_view(), name="device-events"),
    path("devices/<int:pk>/commands/", DeviceCommandListView.as_view(), name="device-commands"),
    path(
        "devices/<int:pk>/commands/<int:command_id>/ack/",
        DeviceCommandAckView.as_view(),
        name="device-command-ack",
    ),
    path("backflow/scorecard/", BackflowScorecardView.as_view(), name="backflow-scorecard"),
    *router.urls,
]
