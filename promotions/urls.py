"""Staff pages of campaigns and coupons (/promotions/...). Object ids are named
`<model>_id` (the isolation walk relies on it). The member's phone page (/c/...) is wired in
retail/urls.py from promotions.views.mobile."""

from django.urls import include, path

app_name = "promotions"

urlpatterns = [
    path("campaigns/", include("promotions.views.campaigns")),
    path("templates/", include("promotions.views.templates")),
    path("benefits/", include("promotions.views.benefits")),
    path("counter/", include("promotions.views.counter")),
    path("rehearsals/", include("promotions.views.rehearsals")),
    path("incidents/", include("promotions.views.incidents")),
]
