"""Dashboard pages, under /dashboards/ (included by retail/page_urls.py)."""

from django.urls import path

from . import views

app_name = "dashboards"

urlpatterns = [
    path("", views.my_dashboard, name="mine"),
    path("hq/", views.hq_dashboard, name="hq"),
    path("store/<int:store_id>/", views.store_dashboard, name="store"),
]
