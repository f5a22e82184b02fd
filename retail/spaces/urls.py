"""Pages of spaces, under /spaces/ (included by retail/page_urls.py; namespace retail:spaces)."""

from django.urls import path

from . import views

app_name = "spaces"

urlpatterns = [
    path("", views.space_list, name="space_list"),
    path("new/", views.space_new, name="space_new"),
    path("<int:space_id>/", views.space_detail, name="space_detail"),
    path("<int:space_id>/edit/", views.space_edit, name="space_edit"),
    path("<int:space_id>/deactivate/", views.space_deactivate, name="space_deactivate"),
    path("<int:space_id>/check-in/", views.space_check_in, name="space_check_in"),
    path("<int:space_id>/check-out/", views.space_check_out, name="space_check_out"),
    path("<int:space_id>/rules/new/", views.rule_new, name="rule_new"),
    path("<int:space_id>/bookings/", views.booking_page, name="booking_page"),
    path("bookings/<int:booking_id>/cancel/", views.booking_cancel, name="booking_cancel"),
]
