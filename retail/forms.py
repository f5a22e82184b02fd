"""Forms of the core pages: list filters and the role switch. Choices come scoped."""

from __future__ import annotations

from django import forms
from django.apps import apps
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext_lazy as _

from . import selectors
from .choices import Channel
from .tenancy import Principal


class ListedChoices(ModelChoiceIterator):
    """Choices read with one plain query: Django's default iterates the queryset with
    `.iterator()`, a server-side cursor on PostgreSQL (extra round trips on every page)."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in list(self.queryset):
            yield self.choice(obj)


class ListedModelChoiceField(forms.ModelChoiceField):
    """A ModelChoiceField for the small scoped choice lists of page forms (stores, staff,
    types): every page form uses it instead of forms.ModelChoiceField."""

    iterator = ListedChoices


def add_domain_errors(form: forms.Form, exc) -> None:
    """Show a service's refusal (retail.errors.DomainError) on the form: each field's
    messages on that field where the form has it, the message itself otherwise."""
    placed = False
    for field, errors in (exc.fields or {}).items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)
            placed = placed or field in form.fields
    if not placed:
        form.add_error(None, exc.message)


class StoreFilterForm(forms.Form):
    """A list's "which store" filter: the principal's stores, or all of them (empty)."""

    store = ListedModelChoiceField(
        label=_("Store"), queryset=None, required=False, empty_label=_("All stores")
    )

    def __init__(self, *args, principal: Principal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = selectors.stores_for(principal=principal).order_by("code")

    def store_id(self) -> int | None:
        if self.is_bound and self.is_valid() and self.cleaned_data.get("store"):
            return self.cleaned_data["store"].pk
        return None


class StoreStatusFilterForm(forms.Form):
    """A list's filters by one of the principal's stores and one status (devices, screens):
    subclasses name their `status_choices`."""

    status_choices: list[tuple[str, str]] = []

    store = ListedModelChoiceField(
        label=_("Store"), queryset=None, required=False, empty_label=_("All stores")
    )
    status = forms.ChoiceField(label=_("Status"), required=False)

    def __init__(self, *args, principal: Principal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = selectors.stores_for(principal=principal).order_by("code")
        self.fields["status"].choices = [("", _("Any status")), *self.status_choices]

    def filters(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {"store_id": None, "status": None}
        store = self.cleaned_data.get("store")
        return {"store_id": store.pk if store else None, "status": self.cleaned_data.get("status") or None}


class ProductSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.SearchInput(attrs={"placeholder": _("SKU or name"), "autocomplete": "off"}),
    )


class OrderFilterForm(forms.Form):
    """Filters of the order list; the store choices are the principal's stores only."""

    store = ListedModelChoiceField(
        label=_("Store"), queryset=None, required=False, empty_label=_("All stores")
    )
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    day = forms.DateField(label=_("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, principal: Principal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = selectors.stores_for(principal=principal).order_by("code")
        self.fields["channel"].choices = [("", _("All channels")), *Channel.choices]

    def filters(self) -> dict:
        """The valid filters as selector keyword arguments; invalid ones are dropped (and
        shown as errors), the others still apply."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = self.cleaned_data
        return {
            "store_id": data["store"].pk if data.get("store") else None,
            "channel": data.get("channel") or None,
            "day": data.get("day"),
        }


def _audited_types() -> list[tuple[str, str]]:
    # Tenant-owned models are the ones whose changes land in a brand's audit trail.
    found = [
        (m._meta.label_lower, m._meta.verbose_name)
        for m in apps.get_models()
        if getattr(m, "TENANT_BRAND_FIELD", None)
    ]
    return sorted(found, key=lambda item: item[0])


class AuditFilterForm(forms.Form):
    """Filters of the audit trail: one object (type + id) and/or one actor of the brand."""

    object_type = forms.ChoiceField(label=_("Object type"), required=False)
    object_id = forms.CharField(label=_("Object id"), required=False, max_length=64)
    actor = ListedModelChoiceField(label=_("Actor"), queryset=None, required=False, empty_label=_("Anyone"))

    def __init__(self, *args, principal: Principal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["object_type"].choices = [
            ("", _("Any type")),
            *((label, f"{name} ({label})") for label, name in _audited_types()),
        ]
        self.fields["actor"].queryset = selectors.brand_staff_users(principal=principal)

    def filters(self) -> dict:
        """The valid filters as keyword arguments of selectors.audit_events_for."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = self.cleaned_data
        return {
            "object_type": data.get("object_type") or None,
            "object_id": (data.get("object_id") or "").strip() or None,
            "actor_id": data["actor"].pk if data.get("actor") else None,
        }
