"""Forms of the tablet workbench: the member search box and the quick note / visit form."""

from __future__ import annotations

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from ..choices import InteractionKind, NextStep, Outcome

NOTE_KINDS = [
    (InteractionKind.NOTE.value, InteractionKind.NOTE.label),
    (InteractionKind.VISIT.value, InteractionKind.VISIT.label),
]


class MemberSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Find a member"),
        required=False,
        max_length=64,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Name, member number or last 4 digits"),
                "autocomplete": "off",
                "inputmode": "search",
            }
        ),
    )


class QuickNoteForm(forms.Form):
    """A note or a visit on a member, with the client id the page made (a double submit —
    or the offline queue sending it again — records it once)."""

    client_id = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)
    kind = forms.ChoiceField(
        label=_("What"), choices=NOTE_KINDS, initial=InteractionKind.NOTE, widget=forms.RadioSelect
    )
    note = forms.CharField(label=_("Note"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[("", "—"), *Outcome.choices], required=False)
    next_step = forms.ChoiceField(
        label=_("Next step"), choices=[("", "—"), *NextStep.choices], required=False
    )
