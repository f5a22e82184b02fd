"""Staff pages: screens."""

urlpatterns: list = []
