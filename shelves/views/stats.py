"""Staff pages: stats."""

urlpatterns: list = []
