"""Pages of onboarding, under /onboarding/ (included by retail/page_urls.py; namespace
retail:onboarding): the wizard per store, HQ's list, the public join page behind a store's
recruitment QR code (`token`: a signed capability), and bulk imports (import_views)."""

from django.urls import include, path

from . import join, views

app_name = "onboarding"

urlpatterns = [
    path("", views.onboarding_list, name="list"),
    path("recheck/", views.recheck_all, name="recheck_all"),
    path("stores/<int:store_id>/", views.wizard, name="wizard"),
    path("stores/<int:store_id>/check/", views.check, name="check"),
    path("stores/<int:store_id>/basics/", views.basics, name="basics"),
    path("stores/<int:store_id>/invite/", views.invite, name="invite"),
    path("stores/<int:store_id>/confirm/", views.confirm, name="confirm"),
    path("stores/<int:store_id>/go-live/", views.go_live, name="go_live"),
    path("stores/<int:store_id>/qr/", views.qr, name="qr"),
    path("stores/<int:store_id>/progress/", views.progress, name="progress"),
    path("join/<str:token>/", join.join, name="join"),
    path("imports/", include("retail.onboarding.import_views")),
]
