"""Forms of the campaign pages: the campaign (name, stores, shelf switch), its phases
(datetime-local inputs, read in Asia/Shanghai) and the preview's time. Choices come
scoped; the services check the rest."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from retail.forms import ListedChoices

from ..choices import PHASE_ORDER, PhaseKind

LOCAL_INPUT = "%Y-%m-%dT%H:%M"


class ListedMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Checkbox choices read with one plain query (see retail.forms.ListedChoices)."""

    iterator = ListedChoices


class CampaignForm(forms.Form):
    """A campaign's name, description, participating stores (or every store) and whether
    the main day switches the brand's cloud shelves."""

    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    all_stores = forms.BooleanField(
        label=_("All stores"),
        required=False,
        help_text=_("Every store of the brand takes part."),
        widget=forms.CheckboxInput(attrs={"data-all-stores": "1"}),
    )
    stores = ListedMultipleChoiceField(
        label=_("Participating stores"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"data-store-choice": "1"}),
    )
    switches_shelves = forms.BooleanField(
        label=_("Switch cloud shelves into Double-11 mode on the main day"),
        required=False,
        initial=True,
    )

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stores"].queryset = stores
        self.fields["stores"].label_from_instance = lambda s: f"{s.code} · {s.name}"

    def clean(self):
        data = super().clean()
        if data.get("all_stores"):
            data["stores"] = list(self.fields["stores"].queryset)
        elif not data.get("stores") and "stores" not in self.errors:
            self.add_error("stores", _("Choose at least one store, or all stores."))
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "description": data.get("description", ""),
            "stores": list(data["stores"]),
            "switches_shelves": bool(data.get("switches_shelves")),
        }


def _local_input(label) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=False,
        input_formats=[LOCAL_INPUT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT),
    )


class PhasesForm(forms.Form):
    """Start and end of each of the four phases (each optional), in Asia/Shanghai."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in PHASE_ORDER:
            label = PhaseKind(kind).label
            self.fields[f"{kind}_starts_at"] = _local_input(_("%(phase)s starts") % {"phase": label})
            self.fields[f"{kind}_ends_at"] = _local_input(_("%(phase)s ends") % {"phase": label})

    @classmethod
    def initial_for(cls, phases) -> dict:
        initial = {}
        for phase in phases:
            initial[f"{phase.kind}_starts_at"] = phase.starts_at
            initial[f"{phase.kind}_ends_at"] = phase.ends_at
        return initial

    def rows(self) -> list[dict]:
        """One row per phase: its label and its two bound fields (for the editor's table)."""
        return [
            {
                "kind": kind,
                "label": PhaseKind(kind).label,
                "starts": self[f"{kind}_starts_at"],
                "ends": self[f"{kind}_ends_at"],
            }
            for kind in PHASE_ORDER
        ]

    def phases(self) -> dict:
        data = self.cleaned_data
        return {kind: (data.get(f"{kind}_starts_at"), data.get(f"{kind}_ends_at")) for kind in PHASE_ORDER}

    def add_service_errors(self, exc) -> None:
        """A refusal of set_phases: each phase's messages on its start field."""
        placed = False
        for kind, errors in (exc.fields or {}).items():
            name = f"{kind}_starts_at"
            for error in errors:
                self.add_error(name if name in self.fields else None, error)
                placed = placed or name in self.fields
        if not placed:
            self.add_error(None, exc.message)


class PreviewForm(forms.Form):
    at = _local_input(_("Preview the campaign at"))
