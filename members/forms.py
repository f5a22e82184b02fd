"""Forms of the member pages: search and list filters. Choices come scoped."""

from __future__ import annotations

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from retail import selectors as retail_selectors
from retail.forms import ListedModelChoiceField
from retail.tenancy import Principal

from .choices import ConsentChannel


class MemberSearchForm(forms.Form):
    """Find one member (phone, full name, member number, external id), or filter the list by store and
    continue it after a member id (keyset)."""

    q = forms.CharField(label=_("Find a member"), required=False, max_length=64)
    store = ListedModelChoiceField(
        label=_("Store"), queryset=None, required=False, empty_label=_("All stores")
    )
    after = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, principal: Principal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = retail_selectors.stores_for(principal=principal).order_by("code")
        # choosing a store refreshes the rows in place (htmx), like typing in the search box
        self.fields["store"].widget.attrs.update(
            {
                "hx-get": reverse("members:member_list"),
                "hx-include": "closest form",
                "hx-trigger": "change",
                "hx-target": "#member-rows",
                "hx-push-url": "true",
            }
        )

    def filters(self) -> dict:
        """The valid inputs as keyword arguments; invalid ones are dropped (and shown)."""
        if not self.is_bound:
            return {"q": "", "store_id": None, "after": None}
        self.is_valid()
        data = self.cleaned_data
        return {
            "q": (data.get("q") or "").strip(),
            "store_id": data["store"].pk if data.get("store") else None,
            "after": data.get("after"),
        }


class ConsentForm(forms.Form):
    """A consent statement taken in the store: one channel, granted or withdrawn."""

    channel = forms.ChoiceField(label=_("Channel"), choices=ConsentChannel.choices)
    granted = forms.TypedChoiceField(
        label=_("Consent"),
        choices=[("1", _("Granted")), ("0", _("Withdrawn"))],
        coerce=lambda value: value == "1",
    )


class PointsAdjustForm(forms.Form):
    """HQ corrects a member's balance by hand, with the reason kept in the ledger."""

    points = forms.IntegerField(label=_("Points (+/−)"), min_value=-10_000_000, max_value=10_000_000)
    reason = forms.CharField(label=_("Reason"), max_length=255)

    def clean_points(self) -> int:
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError(_("Must not be 0."))
        return points


class TierForm(forms.Form):
    """Define a tier (create, or change the one with this code)."""

    code = forms.SlugField(label=_("Code"), max_length=32)
    name = forms.CharField(label=_("Name"), max_length=60)
    threshold_points = forms.IntegerField(label=_("Threshold (lifetime points)"), min_value=0)
    rank = forms.IntegerField(label=_("Rank"), min_value=0, max_value=1000)
