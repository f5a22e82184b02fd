"""The kiosk page of a screen (/shelf/<token>/...), public by capability token."""

app_name = "kiosk"
urlpatterns: list = []
