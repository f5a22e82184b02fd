"""Member imports pages (routes in `urlpatterns`, included by members/urls.py)."""

urlpatterns: list = []
