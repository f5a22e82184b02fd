"""Forms of the cloud-shelf staff pages: catalogs, the brand's shelf settings, screens and
the screen list filters. Choices come scoped; the services check the rest."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from retail import selectors as retail_selectors
from retail.forms import ListedModelChoiceField, StoreStatusFilterForm
from retail.tenancy import Principal

from .choices import ScreenStatus
from .models import Screen, ShelfSettings
from .selectors import catalogs as catalog_selectors
from .selectors import screens as screen_selectors
from .services.catalogs import MAX_ATTRIBUTION_DAYS


class CatalogForm(forms.Form):
    """A catalog's name and headline."""

    name = forms.CharField(label=_("Name"), max_length=120)
    headline = forms.CharField(
        label=_("Headline"),
        max_length=200,
        required=False,
        help_text=_("Shown above the products on the screens, e.g. “New season”."),
    )


class ProductSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Find a product to add"),
        required=False,
        max_length=100,
        widget=forms.SearchInput(attrs={"placeholder": _("SKU or name"), "autocomplete": "off"}),
    )


class ShelfSettingsForm(forms.Form):
    """The brand's day/night hours, online-store URL and attribution window."""

    day_starts_at = forms.TimeField(
        label=_("Daytime starts"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    night_starts_at = forms.TimeField(
        label=_("Night-time starts"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    buy_url_template = forms.CharField(
        label=_("Online store product URL"),
        max_length=500,
        required=False,
        widget=forms.URLInput(attrs={"placeholder": "https://shop.example.com/item/{sku}?td={token}"}),
        help_text=_(
            "{sku} is the product's SKU, {token} the scan's attribution token (required). Blank: not linked."
        ),
    )
    attribution_days = forms.IntegerField(
        label=_("Attribution window (days)"),
        min_value=1,
        max_value=MAX_ATTRIBUTION_DAYS,
        help_text=_("An online order within this many days of the scan counts for the store."),
    )

    @classmethod
    def for_settings(cls, data, settings: ShelfSettings) -> ShelfSettingsForm:
        return cls(
            data,
            initial={
                "day_starts_at": settings.day_starts_at,
                "night_starts_at": settings.night_starts_at,
                "buy_url_template": settings.buy_url_template,
                "attribution_days": settings.attribution_days,
            },
        )


class GuideChoiceField(ListedModelChoiceField):
    def label_from_instance(self, obj) -> str:
        full = obj.get_full_name()
        return f"{full} ({obj.get_username()})" if full else obj.get_username()


class ScreenForm(forms.Form):
    """A screen in one of the principal's stores (the store is fixed once it exists)."""

    store = ListedModelChoiceField(label=_("Store"), queryset=None, empty_label=None)
    name = forms.CharField(label=_("Name"), max_length=100)
    zone = forms.CharField(
        label=_("Zone"), max_length=100, required=False, help_text=_("Where it stands, e.g. “Entrance”.")
    )
    guide = GuideChoiceField(
        label=_("Zone guide"),
        queryset=None,
        required=False,
        empty_label=_("No guide"),
        help_text=_("A guide of the screen's store; orders from its scans count for them."),
    )
    day_catalog = ListedModelChoiceField(label=_("Daytime catalog"), queryset=None, required=False)
    night_catalog = ListedModelChoiceField(label=_("Night-time catalog"), queryset=None, required=False)
    double11_catalog = ListedModelChoiceField(label=_("Double-11 catalog"), queryset=None, required=False)
    rotate_seconds = forms.IntegerField(label=_("Seconds per card"), min_value=2, max_value=300, initial=8)

    def __init__(self, *args, principal: Principal, screen: Screen | None = None, **kwargs):
        if screen is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "store": screen.store_id,
                "name": screen.name,
                "zone": screen.zone,
                "guide": screen.guide_id,
                "day_catalog": screen.day_catalog_id,
                "night_catalog": screen.night_catalog_id,
                "double11_catalog": screen.double11_catalog_id,
                "rotate_seconds": screen.rotate_seconds,
            }
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = retail_selectors.stores_for(principal=principal).order_by("code")
        if screen is not None:
            self.fields["store"].disabled = True
            self.fields["guide"].queryset = screen_selectors.guides_of_store(
                principal=principal, store=screen.store
            )
        else:
            self.fields["guide"].queryset = screen_selectors.guides_of_stores(principal=principal)
        catalogs = catalog_selectors.assignable_catalogs(principal=principal)
        for name in ("day_catalog", "night_catalog", "double11_catalog"):
            self.fields[name].queryset = catalogs
            self.fields[name].empty_label = _("None")

    def values(self) -> dict:
        """The cleaned fields as the screen services take them (without the store)."""
        data = dict(self.cleaned_data)
        data.pop("store", None)
        data["zone"] = data.get("zone") or ""
        return data


class ScreenFilterForm(StoreStatusFilterForm):
    """The screen list's filters: one store, one status."""

    status_choices = ScreenStatus.choices
