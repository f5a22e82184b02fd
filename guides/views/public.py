"""Public pages of the workbench: the share-link redirect (/g/<code>)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
