"""The upload form of member imports: the file and the default recruiting store."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from retail import selectors as retail_selectors
from retail.forms import ListedModelChoiceField
from retail.tenancy import Principal

from .services.imports import max_upload_bytes


class MemberImportUploadForm(forms.Form):
    """A CSV or XLSX file; the store members without a store column (or an empty cell) join.
    A store manager must choose one of their stores; HQ may leave it empty."""

    file = forms.FileField(
        label=_("File (CSV or XLSX)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )
    store = ListedModelChoiceField(
        label=_("Recruiting store"),
        queryset=None,
        required=False,
        empty_label=_("No store (HQ)"),
        help_text=_("For rows without a store code."),
    )

    def __init__(self, *args, principal: Principal, **kwargs):
        super().__init__(*args, **kwargs)
        self.principal = principal
        self.fields["store"].queryset = retail_selectors.stores_for(principal=principal).order_by("code")
        if principal.store_ids is not None:  # a store manager imports into their stores only
            self.fields["store"].required = True
            self.fields["store"].empty_label = None

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > max_upload_bytes():
            raise forms.ValidationError(
                _("The file is larger than %(mb)s MB; split it into smaller files.")
                % {"mb": max_upload_bytes() // (1024 * 1024)}
            )
        return upload
