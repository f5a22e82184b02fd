"""Forms of the share-link pages: a guide's new link (a product by SKU, or a piece of the
brand's content, for one platform) and HQ's new piece of content. Choices come scoped."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from retail.forms import ListedModelChoiceField
from retail.tenancy import Principal

from ..choices import Platform
from ..selectors import sharing as selectors

PRODUCT_SUGGESTIONS = 200


class LinkForm(forms.Form):
    platform = forms.ChoiceField(label=_("Platform"), choices=Platform.choices)
    sku = forms.CharField(
        label=_("Product (SKU)"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"list": "link-products", "autocomplete": "off"}),
    )
    content = ListedModelChoiceField(
        label=_("or content"), queryset=None, required=False, empty_label=_("— no content —")
    )

    def __init__(self, *args, principal: Principal, **kwargs):
        super().__init__(*args, **kwargs)
        self.principal = principal
        self.fields["content"].queryset = selectors.contents_for(principal, active_only=True)
        self.suggestions = list(
            selectors.shareable_products(principal).values("sku", "name")[:PRODUCT_SUGGESTIONS]
        )

    def clean(self):
        data = super().clean()
        sku = (data.get("sku") or "").strip()
        content = data.get("content")
        if bool(sku) == bool(content):
            raise forms.ValidationError(_("Choose a product or a piece of content (one of them)."))
        data["product"] = None
        if sku:
            product = selectors.shareable_products(self.principal).filter(sku=sku).first()
            if product is None:
                self.add_error("sku", _("No active product with this SKU."))
            data["product"] = product
        return data

    def values(self) -> dict:
        return {
            "platform": self.cleaned_data["platform"],
            "product": self.cleaned_data.get("product"),
            "content": self.cleaned_data.get("content"),
        }


class ContentForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    url = forms.URLField(label=_("Link"), max_length=500, assume_scheme="https")
    image_url = forms.URLField(label=_("Image URL"), max_length=500, required=False, assume_scheme="https")
    body = forms.CharField(label=_("Text"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
