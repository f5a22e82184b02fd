"""Forms of the onboarding wizard (invite staff) and of the public join page."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from members import selectors as member_selectors

from ..choices import Role


class InviteForm(forms.Form):
    """A new staff account for the store, with a one-time password shown once."""

    role = forms.ChoiceField(
        label=_("Role"),
        choices=[(Role.STORE_MANAGER, Role.STORE_MANAGER.label), (Role.GUIDE, Role.GUIDE.label)],
        initial=Role.GUIDE,
    )
    username = forms.RegexField(
        label=_("Username"),
        max_length=150,
        regex=r"^[\w.@+-]+\Z",
        error_messages={"invalid": _("Letters, digits and @/./+/-/_ only.")},
    )
    first_name = forms.CharField(label=_("Given name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Family name"), max_length=150, required=False)
    email = forms.EmailField(label=_("Email"), required=False)


class JoinForm(forms.Form):
    """A shopper's phone, name (optional), contact consents (each optional) and the required
    agreement to join the membership."""

    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"inputmode": "tel", "autocomplete": "tel", "placeholder": "138 0013 8000"}
        ),
    )
    name = forms.CharField(label=_("Your name (optional)"), max_length=60, required=False)
    consent_sms = forms.BooleanField(label=_("Send me offers by SMS"), required=False)
    consent_call = forms.BooleanField(label=_("You may call me"), required=False)
    consent_chat = forms.BooleanField(label=_("Message me on work chat (WeCom)"), required=False)
    agree = forms.BooleanField(
        label=_("I agree to join the membership and to the privacy policy"),
        error_messages={"required": _("Please agree to join the membership.")},
    )

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"].strip()
        if member_selectors.phone_hash_or_none(phone) is None:
            raise forms.ValidationError(_("Not a valid phone number."))
        return phone

    def consents(self) -> dict[str, bool]:
        return {k: self.cleaned_data[f"consent_{k}"] for k in ("sms", "call", "chat")}


class BasicsForm(forms.Form):
    """The store's basic data the first step checks (the code is fixed once created)."""

    name = forms.CharField(label=_("Store name"), max_length=120)
    city = forms.CharField(label=_("City"), max_length=60)
    address = forms.CharField(label=_("Address"), max_length=255)
