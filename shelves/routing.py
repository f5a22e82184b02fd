"""Websocket routes of cloud shelves (included by retail/routing.py)."""

websocket_urlpatterns: list = []
