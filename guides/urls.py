"""Staff pages of the guide workbench (/guides/...). Object ids are named `<model>_id`
(the isolation walk relies on it). The share-link redirect (/g/<code>) and the telephony
status callback are wired in retail/urls.py."""

from django.urls import include, path

from .views.profiles import me_urlpatterns

app_name = "guides"

urlpatterns = [
    path("", include("guides.views.workbench")),
    path("plans/", include("guides.views.plans")),
    path("tasks/", include("guides.views.tasks")),
    path("assignments/", include("guides.views.assignments")),
    path("calls/", include("guides.views.calls")),
    path("messages/", include("guides.views.messaging")),
    path("settings/", include("guides.views.settings")),
    path("performance/", include("guides.views.performance")),
    path("links/", include("guides.views.sharing")),
    path("livestreams/", include("guides.views.livestreams")),
    path("team/", include("guides.views.profiles")),
    path("me/", include(me_urlpatterns)),
]
