"""The performance page's filters: a period (a month, or from / to dates; this month by
default) and the grouping (per guide, per plan, per store)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..selectors.conversions import month_bounds

GROUPS = [("guide", _("Per guide")), ("plan", _("Per call plan")), ("store", _("Per store"))]


class PeriodForm(forms.Form):
    month = forms.CharField(
        label=_("Month"), required=False, widget=forms.DateInput(attrs={"type": "month"}), max_length=7
    )
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    by = forms.ChoiceField(label=_("Group"), choices=GROUPS, required=False)

    def clean_month(self):
        value = (self.cleaned_data.get("month") or "").strip()
        if not value:
            return ""
        try:
            year, month = (int(part) for part in value.split("-"))
            dt.date(year, month, 1)
        except ValueError as exc:
            raise forms.ValidationError(_("Use YYYY-MM.")) from exc
        return f"{year:04d}-{month:02d}"

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end comes after the start."))
        if start and end and (end - start).days > 366:
            self.add_error("end", _("At most a year at a time."))
        return data

    def period(self) -> tuple[dt.datetime, dt.datetime, str]:
        """[start, end) in the current time zone, and the grouping."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        group = data.get("by") or "guide"
        tz = timezone.get_current_timezone()
        if data.get("start") and data.get("end"):
            start = dt.datetime.combine(data["start"], dt.time.min, tzinfo=tz)
            end = dt.datetime.combine(data["end"] + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
            return start, end, group
        start, end = month_bounds(data.get("month") or None)
        return start, end, group
