"""Forms of the coupon counter: find a member by phone, give a coupon, redeem one, take an
offline block. Choices come from the counter's store only."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from retail.forms import ListedModelChoiceField

from ..models import CouponTemplate
from ..services.offline import MAX_BLOCK

TOUCH = {"autocomplete": "off"}


class FindMemberForm(forms.Form):
    phone = forms.CharField(
        label=_("Member's phone"),
        max_length=20,
        widget=forms.TextInput(attrs={**TOUCH, "inputmode": "tel", "placeholder": "13800001234"}),
    )


class GiveCouponForm(forms.Form):
    """`key` is a UUID made when the form is drawn: a double tap claims once."""

    template = ListedModelChoiceField(
        label=_("Coupon"), queryset=CouponTemplate.objects.none(), empty_label=None, widget=forms.RadioSelect
    )
    member = forms.CharField(widget=forms.HiddenInput)
    key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, templates: list[CouponTemplate], **kwargs):
        kwargs.setdefault("initial", {}).setdefault("key", uuid.uuid4())
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = CouponTemplate.objects.filter(pk__in=[t.pk for t in templates])
        self.fields["template"].label_from_instance = lambda t: t.name


class RedeemForm(forms.Form):
    token = forms.CharField(
        label=_("Coupon QR or code"),
        max_length=2000,
        widget=forms.Textarea(
            attrs={
                **TOUCH,
                "rows": 2,
                "spellcheck": "false",
                "autocapitalize": "characters",
                "placeholder": _("Scan the member's QR, or type the coupon code"),
            }
        ),
    )
    subtotal = forms.DecimalField(
        label=_("Order subtotal (CNY)"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=forms.NumberInput(attrs={**TOUCH, "inputmode": "decimal", "step": "0.01"}),
    )
    order_ref = forms.CharField(
        label=_("Order reference"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs=TOUCH),
    )


class BlockForm(forms.Form):
    template = ListedModelChoiceField(label=_("Coupon"), queryset=CouponTemplate.objects.none())
    size = forms.IntegerField(label=_("Coupons"), min_value=1, max_value=MAX_BLOCK, initial=20)
    device_label = forms.CharField(label=_("Tablet"), max_length=80)

    def __init__(self, *args, templates: list[CouponTemplate], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = CouponTemplate.objects.filter(pk__in=[t.pk for t in templates])
        self.fields["template"].label_from_instance = lambda t: t.name
