"""Staff pages of cloud shelves. Object ids are named `<model>_id` (the isolation walk relies
on it). The public kiosk (/shelf/<token>/) and scan (/s/<code>) pages are wired in
retail/urls.py from shelves.views.kiosk and shelves.views.scans."""

from django.urls import include, path

app_name = "shelves"

urlpatterns = [
    path("catalogs/", include("shelves.views.catalogs")),
    path("screens/", include("shelves.views.screens")),
    path("stats/", include("shelves.views.stats")),
]
