"""Table rows written in Python on hot pages (the template engine's per-cell lookups,
localisation and URL reversing cost more than the rest of such a request): a row's URL is
reversed once per table with 0 in the id's place, and each row fills in its own id."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse


def url_pattern(name: str, kwarg: str) -> str:
    """The URL of `name` with 0 as `kwarg` ("" if the route is not installed)."""
    try:
        return reverse(name, kwargs={kwarg: 0})
    except NoReverseMatch:
        return ""


def row_url(pattern: str, pk: int) -> str:
    """`pattern` (from url_pattern) for the object `pk`."""
    return pattern.replace("/0/", f"/{pk}/", 1) if pattern else ""
