"""Guide profile forms: a guide's own phone, a manager's edit of a guide (phone, store,
influencer) and the team list's store filter. The phone is checked by the service (one rule:
members.pii.normalize_phone); the form never shows the stored number, only its mask."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from retail import selectors as retail_selectors
from retail.forms import ListedModelChoiceField, StoreFilterForm
from retail.tenancy import Principal

PHONE_ATTRS = {"type": "tel", "inputmode": "tel", "autocomplete": "tel", "placeholder": "138 0000 0000"}


class OwnPhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("Your phone"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs=PHONE_ATTRS),
        help_text=_("The number calls to your members ring first. Save it empty to remove it."),
    )

    def values(self) -> dict:
        return {"phone": self.cleaned_data["phone"]}


class ProfileEditForm(forms.Form):
    phone = forms.CharField(
        label=_("New phone"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs=PHONE_ATTRS),
        help_text=_("Leave empty to keep the current number."),
    )
    clear_phone = forms.BooleanField(label=_("Remove the phone"), required=False)
    store = ListedModelChoiceField(
        label=_("Store"),
        queryset=None,
        empty_label=None,
        help_text=_("The store the guide's calls, share links and conversions count for."),
    )
    is_influencer = forms.BooleanField(label=_("Influencer guide"), required=False)

    def __init__(self, *args, principal: Principal, profile, **kwargs):
        kwargs.setdefault("initial", {"store": profile.store_id, "is_influencer": profile.is_influencer})
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = retail_selectors.stores_for(principal=principal).order_by("code")

    def values(self) -> dict:
        data = self.cleaned_data
        values = {"store": data["store"], "is_influencer": data["is_influencer"]}
        if data["clear_phone"]:
            values["phone"] = ""
        elif data["phone"].strip():
            values["phone"] = data["phone"]
        return values


class TeamFilterForm(StoreFilterForm):
    """The team page's store filter."""
