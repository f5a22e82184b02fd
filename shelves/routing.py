"""Websocket routes of cloud shelves (included by retail/routing.py)."""

from django.urls import path

from .consumers import KioskConsumer

websocket_urlpatterns = [
    path("ws/shelf/<str:token>/", KioskConsumer.as_asgi()),
]
