"""The member benefit form (HQ, on a draft campaign). Tiers and segments come scoped to the
brand; the rest (a materialised segment, tiers or a segment) is the service's check."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from members.models import Tier
from members.selectors.segments import segments_for
from retail.forms import ListedModelChoiceField
from retail.tenancy import Principal

from ..choices import BenefitKind
from ..models import Benefit
from .templates import TierChoices


class SegmentChoice(ListedModelChoiceField):
    def label_from_instance(self, obj) -> str:
        if obj.size is not None and obj.status == "done":
            return _("%(name)s (%(size)s members)") % {"name": obj.name, "size": obj.size}
        return f"{obj.name} ({obj.get_status_display()})"


class BenefitForm(forms.Form):
    """What the benefit is and who has it: tiers, a segment, or both."""

    kind = forms.ChoiceField(label=_("Kind"), choices=BenefitKind.choices)
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    tiers = TierChoices(label=_("Member tiers"), queryset=None, required=False)
    segment = SegmentChoice(
        label=_("Segment"),
        queryset=None,
        required=False,
        empty_label=_("No segment"),
        help_text=_("Its members are frozen when the campaign is published; it must be materialised."),
    )

    def __init__(self, *args, principal: Principal, benefit: Benefit | None = None, **kwargs):
        if benefit is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "kind": benefit.kind,
                "name": benefit.name,
                "description": benefit.description,
                "tiers": [t.pk for t in benefit.tiers.all()],
                "segment": benefit.segment_id,
            }
        super().__init__(*args, **kwargs)
        self.fields["tiers"].queryset = Tier.objects.for_principal(principal).order_by("rank")
        self.fields["segment"].queryset = segments_for(principal=principal)

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data["tiers"] = list(data.get("tiers") or [])
        return data
