"""The filter backend of every API list (REST_FRAMEWORK DEFAULT_FILTER_BACKENDS). A module of
its own: DRF imports it while it imports its views, so it must not import ours."""

import datetime as dt

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

EARLIEST_YEAR = 1900
MAX_OFFSET = dt.timedelta(hours=14)


def datetime_problem(value) -> str | None:
    """Why a parsed date-time is out of the API's range, or None. Before 1900 local times
    carry odd historical offsets (LMT `+08:05:43`, not RFC 3339); an offset beyond ±14:00
    exists nowhere and PostgreSQL refuses one beyond ±15:59 (a 500, not a 400)."""
    if isinstance(value, dt.datetime):
        offset = value.utcoffset()
        if value.year < EARLIEST_YEAR or (offset is not None and abs(offset) > MAX_OFFSET):
            return f"Out of range: from {EARLIEST_YEAR}, with an offset within ±14:00."
    elif isinstance(value, dt.date) and value.year < EARLIEST_YEAR:
        return f"Out of range: from {EARLIEST_YEAR}."
    return None


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter, strict about what it is given (the API never ignores bad input): a
    query parameter that is neither a filter of the list nor `cursor` / `page_size`, a
    filter given twice, an empty value, or a yes/no filter with anything but true/false is
    a 400 in the error shape — a typo never silently returns the list unfiltered."""

    BOOLEANS = {"true", "false", "True", "False", "1", "0"}

    PAGINATION = {"cursor", "page_size"}

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        known = set(filterset_class.base_filters) if filterset_class is not None else set()
        unknown = sorted(set(request.query_params) - known - self.PAGINATION)
        if unknown:
            raise ValidationError({name[:64]: ["Unknown query parameter."] for name in unknown[:20]})
        return super().filter_queryset(request, queryset, view)

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        problems = {}
        for name, flt in filterset.filters.items():
            if name not in request.query_params:
                continue
            values = request.query_params.getlist(name)
            if len(values) > 1 and not isinstance(flt, django_filters.MultipleChoiceFilter):
                problems[name] = ["Give this filter once."]
            elif any(v.strip() == "" for v in values):
                problems[name] = ["Empty value: leave the filter out instead."]
            elif isinstance(flt, django_filters.BooleanFilter) and values[0] not in self.BOOLEANS:
                problems[name] = ["Must be true or false."]
        if not problems and filterset.is_valid():
            for name, value in filterset.form.cleaned_data.items():
                if datetime_problem(value):
                    problems[name] = [datetime_problem(value)]
        if problems:
            raise ValidationError(problems)
        return filterset
