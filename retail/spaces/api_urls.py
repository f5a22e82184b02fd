"""Partner API of spaces (included under /api/v1/ by retail/urls.py)."""

urlpatterns: list = []
