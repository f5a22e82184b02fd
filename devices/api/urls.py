"""Device API routes: each area adds its viewsets / paths here."""

urlpatterns: list = []
