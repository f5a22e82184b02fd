"""The filter backend of every API list (REST_FRAMEWORK DEFAULT_FILTER_BACKENDS). A module of
its own: DRF imports it while it imports its views, so it must not import ours."""

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError


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
        if problems:
            raise ValidationError(problems)
        return filterset
