"""The workbench settings form (HQ)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import GuideSettings
from ..providers import messaging as messaging_providers
from ..providers import telephony

PROVIDER_LABELS = {"simulated": _("Simulated (no real calls or messages)"), "http": _("HTTP provider")}


class GuideSettingsForm(forms.ModelForm):
    telephony_provider = forms.ChoiceField(label=_("Telephony provider"), choices=())
    messaging_provider = forms.ChoiceField(label=_("Messaging provider"), choices=())

    class Meta:
        model = GuideSettings
        fields = [
            "attribution_days",
            "quiet_start",
            "quiet_end",
            "frequency_cap",
            "frequency_window_days",
            "telephony_provider",
            "messaging_provider",
            "caller_name",
        ]
        widgets = {
            "quiet_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "quiet_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["telephony_provider"].choices = [
            (n, PROVIDER_LABELS.get(n, n)) for n in telephony.PROVIDERS
        ]
        self.fields["messaging_provider"].choices = [
            (n, PROVIDER_LABELS.get(n, n)) for n in messaging_providers.PROVIDERS
        ]
        self.fields["quiet_start"].help_text = _("Asia/Shanghai. Equal start and end: no quiet hours.")
        self.fields["quiet_end"].help_text = _("May be earlier than the start: the window wraps midnight.")

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
