"""Device pages. Object ids are named `<model>_id` (the isolation walk relies on it)."""

from django.urls import include, path

app_name = "devices"

urlpatterns = [
    path("", include("devices.views.registry")),
    path("backflow/", include("devices.views.backflow")),
    path("dispensers/", include("devices.views.dispensers")),
]
