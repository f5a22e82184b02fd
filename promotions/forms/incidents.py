"""Forms of the incident desk: the store's report (tablet), the desk's filters, assign,
comment and resolve. Choices come scoped through the principal."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from retail import selectors as retail_selectors
from retail.forms import ListedModelChoiceField
from retail.tenancy import Principal

from ..choices import IncidentStatus, Severity
from ..selectors import incidents as selectors
from ..services import incidents as services


class IncidentReportForm(forms.Form):
    store = ListedModelChoiceField(label=_("Store"), queryset=None, empty_label=None)
    kind = forms.ChoiceField(label=_("What broke"), choices=(), widget=forms.RadioSelect)
    severity = forms.ChoiceField(
        label=_("Severity"), choices=Severity.choices, initial=Severity.MEDIUM, widget=forms.RadioSelect
    )
    title = forms.CharField(label=_("Title"), max_length=services.TITLE_MAX)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=services.NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    photo = forms.FileField(
        label=_("Photo"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/gif,image/webp"}),
        help_text=_("JPEG, PNG, GIF or WebP, at most 5 MB."),
    )
    campaign = ListedModelChoiceField(
        label=_("Campaign"), queryset=None, required=False, empty_label=_("No campaign")
    )

    def __init__(self, *args, principal: Principal, **kwargs):
        super().__init__(*args, **kwargs)
        stores = retail_selectors.stores_for(principal=principal).order_by("code")
        self.fields["store"].queryset = stores
        self.fields["kind"].choices = [(k.value, k.label) for k in services.REPORTABLE_KINDS]
        self.fields["campaign"].queryset = selectors.campaigns_for(principal=principal)
        if not self.is_bound:
            first = stores.first()
            if first is not None:
                self.fields["store"].initial = first.pk
                live = services.live_campaign_for(first)
                if live is not None:
                    self.fields["campaign"].initial = live.pk

    def values(self) -> dict:
        data = self.cleaned_data
        return {k: data.get(k) for k in ("store", "kind", "severity", "title", "note", "photo", "campaign")}


class IncidentFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False)
    severity = forms.ChoiceField(label=_("Severity"), required=False)
    campaign = ListedModelChoiceField(
        label=_("Campaign"), queryset=None, required=False, empty_label=_("All campaigns")
    )
    store = ListedModelChoiceField(
        label=_("Store"), queryset=None, required=False, empty_label=_("All stores")
    )

    def __init__(self, *args, principal: Principal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("Any status")), *IncidentStatus.choices]
        self.fields["severity"].choices = [("", _("Any severity")), *Severity.choices]
        self.fields["campaign"].queryset = selectors.campaigns_for(principal=principal)
        self.fields["store"].queryset = retail_selectors.stores_for(principal=principal).order_by("code")

    def filters(self) -> dict:
        """Selector keyword arguments; invalid filters are dropped (and shown)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = self.cleaned_data
        return {
            "status": data.get("status") or None,
            "severity": data.get("severity") or None,
            "campaign_id": data["campaign"].pk if data.get("campaign") else None,
            "store_id": data["store"].pk if data.get("store") else None,
        }


class AssignForm(forms.Form):
    assignee = ListedModelChoiceField(label=_("Assign to"), queryset=None, empty_label=None)

    def __init__(self, *args, brand_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = selectors.hq_staff(brand_id=brand_id)


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("Comment"), max_length=services.COMMENT_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        label=_("What was done"), max_length=services.NOTE_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )
