"""Member tag pages (routes in `urlpatterns`, included by members/urls.py at the root)."""

urlpatterns: list = []
