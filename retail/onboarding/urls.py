"""Pages of onboarding, under /onboarding/ (included by retail/page_urls.py; namespace retail:onboarding)."""

from django.urls import path  # noqa: F401

app_name = "onboarding"

urlpatterns: list = []
