"""The shopper's scan page (/s/<code>), the hot path."""

app_name = "scan"
urlpatterns: list = []
