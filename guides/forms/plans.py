"""The call-plan form (HQ and managers): name, segment, store (HQ may leave it empty for
every store), what kind of task, the script, the dates."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.selectors.segments import segments_for
from retail import selectors as retail_selectors
from retail.choices import Role
from retail.forms import ListedModelChoiceField
from retail.tenancy import Principal

from ..choices import TaskKind


class DateInput(forms.DateInput):
    input_type = "date"


class PlanForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    segment = ListedModelChoiceField(label=_("Segment"), queryset=None, empty_label=None)
    store = ListedModelChoiceField(label=_("Store"), queryset=None, required=False)
    kind = forms.ChoiceField(label=_("Task kind"), choices=TaskKind.choices, initial=TaskKind.CALL)
    script = forms.CharField(
        label=_("What to say"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )
    starts_on = forms.DateField(label=_("Starts on"), widget=DateInput)
    due_on = forms.DateField(label=_("Due on"), widget=DateInput)

    def __init__(self, *args, principal: Principal, **kwargs):
        super().__init__(*args, **kwargs)
        self.principal = principal
        self.fields["segment"].queryset = segments_for(principal=principal)
        stores = retail_selectors.stores_for(principal=principal).order_by("code")
        self.fields["store"].queryset = stores
        is_hq = principal.is_superuser or principal.role == Role.HQ_ADMIN
        if is_hq:
            self.fields["store"].empty_label = _("Every store")
        else:
            self.fields["store"].required = True
            self.fields["store"].empty_label = None
        today = timezone.localdate()
        self.fields["starts_on"].initial = today
        self.fields["due_on"].initial = today + dt.timedelta(days=6)

    def values(self) -> dict:
        data = self.cleaned_data
        return {k: data.get(k) for k in ("name", "segment", "store", "kind", "script", "starts_on", "due_on")}
