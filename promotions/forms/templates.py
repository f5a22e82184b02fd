"""The coupon template form (HQ). Choices come scoped to the brand; the kind-specific rules
(amount or percent, threshold above the amount, stock, window, frozen terms) are the
service's, shown back on the fields through add_domain_errors."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from members.models import Tier
from retail import selectors as retail_selectors
from retail.forms import ListedChoices, ListedModelChoiceField
from retail.tenancy import Principal

from ..choices import CampaignStatus, CouponChannel, DiscountKind, Stacking
from ..models import Campaign, CouponTemplate

LOCAL_INPUT = "%Y-%m-%dT%H:%M"


class ListedMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Checkbox lists of a few scoped rows (tiers, stores), read with one plain query."""

    iterator = ListedChoices
    widget = forms.CheckboxSelectMultiple


class StoreChoices(ListedMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.code} {obj.name}"


class TierChoices(ListedMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.name


def _when() -> forms.DateTimeField:
    return forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT),
        input_formats=[LOCAL_INPUT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )


class TemplateForm(forms.Form):
    """What a coupon is worth, how many, for whom, where and when."""

    name = forms.CharField(label=_("Name"), max_length=120)
    campaign = ListedModelChoiceField(
        label=_("Campaign"), queryset=None, required=False, empty_label=_("No campaign")
    )
    kind = forms.ChoiceField(label=_("Discount"), choices=DiscountKind.choices)
    amount_off = forms.DecimalField(
        label=_("Amount off (CNY)"),
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text=_("For amount-off and spend-and-save coupons, e.g. 50."),
    )
    percent_off = forms.IntegerField(
        label=_("Percent off"),
        required=False,
        min_value=1,
        max_value=99,
        help_text=_("For percent-off coupons: 1 to 99."),
    )
    threshold = forms.DecimalField(
        label=_("Minimum spend (CNY)"),
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text=_("Spend and save: e.g. 300 with 50 off is 满300减50. Blank or 0: no minimum."),
    )
    total_stock = forms.IntegerField(label=_("Total stock"), min_value=1)
    per_member_limit = forms.IntegerField(label=_("Limit per member"), min_value=1, initial=1)
    tiers = TierChoices(
        label=_("Member tiers"),
        queryset=None,
        required=False,
        help_text=_("None ticked: every member may claim it."),
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=CouponChannel.choices, initial=CouponChannel.BOTH)
    valid_stores = StoreChoices(
        label=_("Valid stores"),
        queryset=None,
        required=False,
        help_text=_("None ticked: the campaign's stores (every store without a campaign)."),
    )
    valid_from = _when()
    valid_until = _when()
    stacking = forms.ChoiceField(label=_("Stacking"), choices=Stacking.choices, initial=Stacking.EXCLUSIVE)

    field_order = [
        "name",
        "campaign",
        "kind",
        "amount_off",
        "percent_off",
        "threshold",
        "total_stock",
        "per_member_limit",
        "channel",
        "stacking",
        "valid_from",
        "valid_until",
        "tiers",
        "valid_stores",
    ]

    def __init__(
        self,
        *args,
        principal: Principal,
        template: CouponTemplate | None = None,
        frozen: bool = False,
        **kwargs,
    ):
        if template is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": template.name,
                "campaign": template.campaign_id,
                "kind": template.kind,
                "amount_off": template.amount_off,
                "percent_off": template.percent_off,
                "threshold": template.threshold,
                "total_stock": template.total_stock,
                "per_member_limit": template.per_member_limit,
                "tiers": [t.pk for t in template.tiers.all()],
                "channel": template.channel,
                "valid_stores": [s.pk for s in template.valid_stores.all()],
                "valid_from": template.valid_from,
                "valid_until": template.valid_until,
                "stacking": template.stacking,
            }
        super().__init__(*args, **kwargs)
        self.fields["valid_from"].label = _("Valid from")
        self.fields["valid_until"].label = _("Valid until")
        campaigns = Campaign.objects.for_principal(principal).order_by("-created_at")
        if template is None or template.campaign_id is None:
            campaigns = campaigns.exclude(status=CampaignStatus.ENDED)
        else:
            campaigns = campaigns.exclude(~Q(pk=template.campaign_id), status=CampaignStatus.ENDED)
        self.fields["campaign"].queryset = campaigns
        self.fields["tiers"].queryset = Tier.objects.for_principal(principal).order_by("rank")
        self.fields["valid_stores"].queryset = retail_selectors.stores_for(principal=principal).order_by(
            "code"
        )
        if frozen:
            # terms of a published campaign's template: shown, not editable (the service
            # refuses too); the name and the stock stay open
            for name, field in self.fields.items():
                if name not in ("name", "total_stock"):
                    field.disabled = True

    def values(self) -> dict:
        """The cleaned values as service keyword arguments."""
        # disabled (frozen) fields are left out: they are not being changed
        data = {k: v for k, v in self.cleaned_data.items() if not self.fields[k].disabled}
        for name in ("tiers", "valid_stores"):
            if name in data:
                data[name] = list(data[name] or [])
        if "threshold" in data and data["threshold"] is None:
            data["threshold"] = 0
        return data
