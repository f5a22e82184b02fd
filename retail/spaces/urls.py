"""Pages of spaces, under /spaces/ (included by retail/page_urls.py; namespace retail:spaces)."""

from django.urls import path  # noqa: F401

app_name = "spaces"

urlpatterns: list = []
