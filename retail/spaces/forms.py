"""Forms of the spaces pages. Choices (stores, tiers) come scoped to the principal."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import selectors as retail_selectors
from ..forms import ListedModelChoiceField, StoreFilterForm
from ..tenancy import Principal
from .models import SpaceKind


class SpaceFilterForm(StoreFilterForm):
    """The spaces list's store filter."""


class SpaceForm(forms.Form):
    store = ListedModelChoiceField(label=_("Store"), queryset=None)
    kind = forms.ChoiceField(label=_("Kind"), choices=SpaceKind.choices)
    name = forms.CharField(label=_("Name"), max_length=100)
    location = forms.CharField(
        label=_("Location"), max_length=200, required=False, help_text=_("e.g. 2F, north corner")
    )
    area_m2 = forms.DecimalField(
        label=_("Area (m²)"), max_digits=8, decimal_places=2, required=False, min_value=0.01
    )
    capacity = forms.IntegerField(label=_("Capacity (people)"), min_value=1, max_value=500, initial=1)
    opens_at = forms.TimeField(
        label=_("Opens at"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("Empty: open all day."),
    )
    closes_at = forms.TimeField(
        label=_("Closes at"), required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Separated by commas."))

    def __init__(self, *args, principal: Principal, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = retail_selectors.stores_for(principal=principal).order_by("code")
        if editing:
            del self.fields["store"]
            self.fields["is_active"] = forms.BooleanField(label=_("In use"), required=False)


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120, help_text=_("e.g. Gold fitting room, Double-11"))
    tier = ListedModelChoiceField(
        label=_("Tier"), queryset=None, required=False, empty_label=_("Every member")
    )
    starts_at = forms.DateTimeField(
        label=_("From"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    ends_at = forms.DateTimeField(
        label=_("Until"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    slot_minutes = forms.IntegerField(label=_("Slot (minutes)"), min_value=5, max_value=240, initial=30)

    def __init__(self, *args, principal: Principal, **kwargs):
        super().__init__(*args, **kwargs)
        from members.models import Tier

        self.fields["tier"].queryset = Tier.objects.for_principal(principal).order_by("rank")
        self.fields["tier"].label_from_instance = lambda tier: tier.name


class CheckInForm(forms.Form):
    people = forms.IntegerField(label=_("People"), min_value=1, max_value=500, initial=1)


class DayForm(forms.Form):
    day = forms.DateField(label=_("Day"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def day_or_today(self) -> dt.date:
        if self.is_bound and self.is_valid() and self.cleaned_data.get("day"):
            return self.cleaned_data["day"]
        return timezone.localdate()


class RangeForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def range(self, default_days: int = 7) -> tuple[dt.date, dt.date]:
        today = timezone.localdate()
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        end = data.get("end") or today
        start = data.get("start") or end - dt.timedelta(days=default_days - 1)
        return start, end


class BookForm(forms.Form):
    phone = forms.CharField(
        label=_("Member's phone"),
        max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    slot = forms.DateTimeField(widget=forms.HiddenInput, required=True)
