"""Websocket routes of promotions: the incident desk's live list."""

from django.urls import path

from .consumers import IncidentDeskConsumer

websocket_urlpatterns = [
    path("ws/incidents/", IncidentDeskConsumer.as_asgi()),
]
