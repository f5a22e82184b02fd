"""Forms of the livestream pages: a manager's new session and a guide's sign-up of a
member. Choices come scoped (the principal's stores, their guides, the brand's products)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from retail import selectors as retail_selectors
from retail.forms import ListedModelChoiceField
from retail.tenancy import Principal

from ..choices import MessageChannel, Platform
from ..selectors import livestreams as selectors


class HostField(ListedModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.user.get_full_name() or obj.user.get_username()} · {obj.store.code}"


class LivestreamForm(forms.Form):
    store = ListedModelChoiceField(label=_("Store"), queryset=None)
    host = HostField(label=_("Host guide"), queryset=None)
    title = forms.CharField(label=_("Title"), max_length=120)
    platform = forms.ChoiceField(label=_("Platform"), choices=Platform.choices)
    starts_at = forms.DateTimeField(
        label=_("Starts at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    ends_at = forms.DateTimeField(
        label=_("Ends at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    products = forms.ModelMultipleChoiceField(label=_("Products"), queryset=None, required=False)
    remind_minutes_before = forms.IntegerField(
        label=_("Remind (minutes before)"), min_value=1, max_value=1440, initial=30
    )

    def __init__(self, *args, principal: Principal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = retail_selectors.stores_for(principal=principal).order_by("code")
        self.fields["host"].queryset = selectors.host_choices(principal)
        self.fields["products"].queryset = selectors.product_choices(principal)

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "store": data["store"],
            "host_id": data["host"].user_id,
            "title": data["title"],
            "platform": data["platform"],
            "starts_at": data["starts_at"],
            "ends_at": data["ends_at"],
            "products": list(data.get("products") or []),
            "remind_minutes_before": data["remind_minutes_before"],
        }


class SignupForm(forms.Form):
    member = forms.IntegerField(widget=forms.HiddenInput)
    channel = forms.ChoiceField(label=_("Remind by"), choices=MessageChannel.choices)
