"""Staff pages: catalogs."""

urlpatterns: list = []
