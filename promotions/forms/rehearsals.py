"""The start form of a rehearsal: a campaign and some of its participating stores."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from retail.forms import ListedModelChoiceField
from retail.tenancy import Principal

from ..selectors import rehearsals as selectors


class RehearsalStartForm(forms.Form):
    campaign = ListedModelChoiceField(label=_("Campaign"), queryset=None, empty_label=None)
    stores = forms.ModelMultipleChoiceField(
        label=_("Stores"), queryset=None, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, principal: Principal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = selectors.campaigns_to_rehearse(principal=principal)
        self.fields["stores"].queryset = selectors.participating_stores(principal=principal)
        self.fields["stores"].label_from_instance = lambda s: f"{s.code} · {s.name}"

    def clean(self):
        data = super().clean()
        campaign, stores = data.get("campaign"), data.get("stores")
        if campaign is not None and stores:
            taking_part = set(campaign.store_links.values_list("store_id", flat=True))
            if any(s.pk not in taking_part for s in stores):
                self.add_error("stores", _("Only stores taking part in the campaign can rehearse it."))
        return data
