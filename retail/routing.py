"""Websocket routes of every app."""

from django.urls import path

from .consumers import LiveEventsConsumer

websocket_urlpatterns = [
    path("ws/live/", LiveEventsConsumer.as_asgi()),
]
