"""Forms of the sample dispenser pages: the shopper's claim and the manager's stock."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from members import selectors as member_selectors


class ClaimForm(forms.Form):
    """A shopper's phone, their contact consents (each optional) and the required agreement
    to join the brand's membership."""

    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"inputmode": "tel", "autocomplete": "tel", "placeholder": "138 0013 8000"}
        ),
    )
    consent_sms = forms.BooleanField(label=_("Send me offers by SMS"), required=False)
    consent_call = forms.BooleanField(label=_("You may call me"), required=False)
    consent_chat = forms.BooleanField(label=_("Message me on work chat (WeCom)"), required=False)
    agree = forms.BooleanField(
        label=_("I agree to join the membership and to the privacy policy"),
        error_messages={"required": _("Please agree to join to receive your sample.")},
    )

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"].strip()
        if member_selectors.phone_hash_or_none(phone) is None:
            raise forms.ValidationError(_("Not a valid phone number."))
        return phone

    def consents(self) -> dict[str, bool]:
        return {
            "sms": self.cleaned_data["consent_sms"],
            "call": self.cleaned_data["consent_call"],
            "chat": self.cleaned_data["consent_chat"],
        }


class StockForm(forms.Form):
    sample_stock = forms.IntegerField(label=_("Samples in the dispenser"), min_value=0, max_value=1_000_000)


class QrForm(forms.Form):
    campaign = forms.CharField(
        label=_("Campaign code"),
        required=False,
        max_length=64,
        help_text=_("Printed into the QR code: one sample per member per campaign."),
    )
