"""Device dispensers pages (routes in `urlpatterns`, included by devices/urls.py)."""

urlpatterns: list = []
