"""Member pages. Object ids are named `<model>_id` (the isolation walk relies on it)."""

from django.urls import path

from . import views

app_name = "members"

urlpatterns = [
    path("", views.member_list, name="member_list"),
    path("<int:member_id>/", views.member_detail, name="member_detail"),
    path("<int:member_id>/reveal-phone/", views.member_reveal_phone, name="member_reveal_phone"),
]
