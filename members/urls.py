"""Member pages. Object ids are named `<model>_id` (the isolation walk relies on it).

Each area keeps its routes beside its views (members/views/<area>.py) and is included here
into the one `members` namespace."""

from django.urls import include, path

from . import views

app_name = "members"

urlpatterns = [
    path("", views.member_list, name="member_list"),
    path("<int:member_id>/", views.member_detail, name="member_detail"),
    path("<int:member_id>/reveal-phone/", views.member_reveal_phone, name="member_reveal_phone"),
    path("<int:member_id>/consent/", views.member_consent, name="member_consent"),
    path("<int:member_id>/points/", views.member_points_adjust, name="member_points_adjust"),
    path("tiers/", views.tier_list, name="tier_list"),
    path("", include("members.views.tags")),
    path("segments/", include("members.views.segments")),
    path("imports/", include("members.views.imports")),
    path("profiles/", include("members.views.profiles")),
]
