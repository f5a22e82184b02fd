"""Task forms: snoozing (a preset or a time) and the managers' board filters."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from retail import selectors as retail_selectors
from retail.forms import ListedModelChoiceField
from retail.tenancy import Principal

from ..choices import TaskKind
from ..selectors.plans import plans_for
from .assignments import guide_choices

MORNING = 10  # "tomorrow" means 10:00 local time

PRESETS = [
    ("1h", _("In an hour")),
    ("tomorrow", _("Tomorrow morning")),
    ("3d", _("In 3 days")),
    ("7d", _("Next week")),
]


def preset_until(preset: str, now: dt.datetime) -> dt.datetime | None:
    local = timezone.localtime(now)
    if preset == "1h":
        return now + dt.timedelta(hours=1)
    days = {"tomorrow": 1, "3d": 3, "7d": 7}.get(preset)
    if days is None:
        return None
    return (local + dt.timedelta(days=days)).replace(hour=MORNING, minute=0, second=0, microsecond=0)


class SnoozeForm(forms.Form):
    preset = forms.ChoiceField(label=_("Snooze"), choices=PRESETS, required=False)
    until = forms.DateTimeField(
        label=_("Until"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )

    def clean(self):
        data = super().clean()
        until = data.get("until")
        if until is None and data.get("preset"):
            until = preset_until(data["preset"], timezone.now())
        if until is None:
            raise forms.ValidationError(_("Choose when the task comes back."))
        data["until"] = until
        return data


class TaskBoardFilterForm(forms.Form):
    store = ListedModelChoiceField(
        label=_("Store"), queryset=None, required=False, empty_label=_("All stores")
    )
    guide = forms.TypedChoiceField(label=_("Guide"), coerce=int, required=False, empty_value=None)
    plan = ListedModelChoiceField(label=_("Plan"), queryset=None, required=False, empty_label=_("All plans"))
    kind = forms.ChoiceField(label=_("Kind"), required=False)

    def __init__(self, *args, principal: Principal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = retail_selectors.stores_for(principal=principal).order_by("code")
        store_id = None
        if self.is_bound and self.data.get("store"):
            try:
                store_id = int(self.data["store"])
            except (TypeError, ValueError):
                store_id = None
        if store_id is None and principal.store_ids is None:
            # HQ: the guides of thousands of stores make no list; choose a store first
            self.fields["guide"].choices = [("", _("All guides (choose a store to pick one)"))]
        else:
            self.fields["guide"].choices = [
                ("", _("All guides")),
                *guide_choices(principal, store_id=store_id),
            ]
        self.fields["plan"].queryset = plans_for(principal).order_by("-id")
        self.fields["kind"].choices = [("", _("Any kind")), *TaskKind.choices]

    def filters(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "store_id": data["store"].pk if data.get("store") else None,
            "guide_id": data.get("guide"),
            "plan_id": data["plan"].pk if data.get("plan") else None,
            "kind": data.get("kind") or None,
        }
