"""Websocket routes of every app."""

from django.urls import path

from promotions.routing import websocket_urlpatterns as promotion_routes
from shelves.routing import websocket_urlpatterns as shelf_routes

from .consumers import LiveEventsConsumer
from .dashboards.consumers import DashboardConsumer

websocket_urlpatterns = [
    path("ws/live/", LiveEventsConsumer.as_asgi()),
    path("ws/dashboards/", DashboardConsumer.as_asgi()),
    *shelf_routes,
    *promotion_routes,
]
