"""Forms of messaging: the 1:1 message (member card) and a broadcast; choices scoped through
the principal (a guide sees only "my members")."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from members.models import Segment, Tier
from retail import selectors as retail_selectors
from retail.choices import Role
from retail.forms import ListedModelChoiceField
from retail.tenancy import Principal

from ..choices import AudienceKind, MessageChannel

BODY_MAX = 500


class MessageForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("Channel"), choices=MessageChannel.choices, initial=MessageChannel.CHAT
    )
    body = forms.CharField(label=_("Message"), max_length=BODY_MAX, widget=forms.Textarea(attrs={"rows": 3}))
    client_id = forms.UUIDField(required=False, widget=forms.HiddenInput)


class BroadcastForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("Channel"), choices=MessageChannel.choices, initial=MessageChannel.SMS
    )
    audience = forms.ChoiceField(label=_("To"), choices=())
    store = ListedModelChoiceField(
        label=_("Store"), queryset=None, required=False, empty_label=_("Every store")
    )
    segment = ListedModelChoiceField(label=_("Segment"), queryset=None, required=False)
    tier = ListedModelChoiceField(label=_("Tier"), queryset=None, required=False)
    body = forms.CharField(label=_("Message"), max_length=BODY_MAX, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, principal: Principal, **kwargs):
        super().__init__(*args, **kwargs)
        self.is_guide = principal.role == Role.GUIDE
        if self.is_guide:
            self.fields["audience"].choices = [(AudienceKind.MY_MEMBERS.value, AudienceKind.MY_MEMBERS.label)]
            for name in ("store", "segment", "tier"):
                del self.fields[name]
            return
        self.fields["audience"].choices = [
            (k.value, k.label) for k in (AudienceKind.STORE_MEMBERS, AudienceKind.SEGMENT, AudienceKind.TIER)
        ]
        self.fields["store"].queryset = retail_selectors.stores_for(principal=principal).order_by("code")
        if principal.store_ids is not None:
            self.fields["store"].empty_label = None
        self.fields["segment"].queryset = Segment.objects.for_principal(principal).order_by("name")
        self.fields["tier"].queryset = Tier.objects.for_principal(principal).order_by("pk")

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "channel": data["channel"],
            "audience": data["audience"],
            "body": data["body"],
            "store": data.get("store"),
            "segment": data.get("segment"),
            "tier": data.get("tier"),
        }
