"""Forms of the registry pages: device types (HQ), devices (managers in their stores, HQ in
any store of the brand), and the device list filters. Choices come scoped."""

from __future__ import annotations

import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from retail import selectors as retail_selectors
from retail.forms import ListedModelChoiceField, StoreStatusFilterForm
from retail.tenancy import Principal

from .choices import DeviceKind, DeviceStatus
from .models import DeviceType
from .schemas import parse_event_schemas
from .selectors import registry as selectors

SCHEMAS_EXAMPLE = (
    '{"dispensed": {"type": "object", "required": ["count"], "properties": {"count": {"type": "integer"}}}}'
)


class DeviceTypeForm(forms.Form):
    """A device type of the brand. The code names it for good, so it is fixed once saved."""

    code = forms.SlugField(label=_("Code"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=DeviceKind.choices)
    partner = ListedModelChoiceField(
        label=_("Maker"), queryset=None, required=False, empty_label=_("In-house")
    )
    event_schemas = forms.CharField(
        label=_("Event schemas (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "class": "devices-code"}),
        help_text=_(
            "A JSON object: each event type mapped to the JSON Schema of its payload. Heartbeats need none."
        ),
    )
    heartbeat_interval_seconds = forms.IntegerField(
        label=_("Heartbeat interval (seconds)"), min_value=5, max_value=86400, initial=60
    )
    timeliness_threshold_seconds = forms.IntegerField(
        label=_("Timeliness threshold (seconds)"), min_value=1, max_value=86400 * 7, initial=300
    )
    firmware_versions = forms.CharField(
        label=_("Firmware versions"),
        required=False,
        max_length=1000,
        help_text=_("Comma separated, e.g. 1.0.0, 1.1.0"),
    )

    def __init__(self, *args, principal: Principal, device_type: DeviceType | None = None, **kwargs):
        if device_type is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "code": device_type.code,
                "name": device_type.name,
                "kind": device_type.kind,
                "partner": device_type.partner_id,
                "event_schemas": json.dumps(device_type.event_schemas, indent=2, ensure_ascii=False),
                "heartbeat_interval_seconds": device_type.heartbeat_interval_seconds,
                "timeliness_threshold_seconds": device_type.timeliness_threshold_seconds,
                "firmware_versions": ", ".join(device_type.firmware_versions),
            }
        super().__init__(*args, **kwargs)
        self.principal, self.device_type = principal, device_type
        self.fields["partner"].queryset = selectors.partners_for(principal=principal)
        self.fields["event_schemas"].widget.attrs["placeholder"] = SCHEMAS_EXAMPLE
        if device_type is not None:
            self.fields["code"].disabled = True

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        if (
            self.device_type is None
            and selectors.device_types_for(principal=self.principal).filter(code=code).exists()
        ):
            raise ValidationError(_("The brand already has a device type with this code."), code="duplicate")
        return code

    def clean_event_schemas(self) -> dict:
        return parse_event_schemas(self.cleaned_data.get("event_schemas", ""))

    def clean_firmware_versions(self) -> list[str]:
        raw = self.cleaned_data.get("firmware_versions", "")
        versions = []
        for part in raw.replace("，", ",").split(","):
            part = part.strip()
            if part and part not in versions:
                if len(part) > 40:
                    raise ValidationError(_("A firmware version has at most 40 characters."), code="too_long")
                versions.append(part)
        return versions

    def values(self) -> dict:
        """The cleaned fields as define_device_type takes them."""
        data = dict(self.cleaned_data)
        data.pop("code")
        return data


class DeviceForm(forms.Form):
    """Register a device in one of the principal's stores."""

    store = ListedModelChoiceField(label=_("Store"), queryset=None, empty_label=None)
    device_type = ListedModelChoiceField(label=_("Type"), queryset=None, empty_label=None)
    serial = forms.CharField(label=_("Serial number"), max_length=64)
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    firmware = forms.CharField(label=_("Firmware"), max_length=40, required=False)
    sample_stock = forms.IntegerField(
        label=_("Sample stock"),
        min_value=0,
        initial=0,
        required=False,
        help_text=_("Sample dispensers only."),
    )
    low_stock_threshold = forms.IntegerField(
        label=_("Low-stock alert at"),
        min_value=0,
        initial=10,
        required=False,
        help_text=_("Sample dispensers only."),
    )

    def __init__(self, *args, principal: Principal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = retail_selectors.stores_for(principal=principal).order_by("code")
        self.fields["device_type"].queryset = selectors.device_types_for(principal=principal)

    def clean_serial(self) -> str:
        return self.cleaned_data["serial"].strip()

    def clean(self):
        data = super().clean()
        device_type, firmware = data.get("device_type"), (data.get("firmware") or "").strip()
        if (
            device_type
            and firmware
            and device_type.firmware_versions
            and firmware not in device_type.firmware_versions
        ):
            self.add_error(
                "firmware",
                ValidationError(
                    _("Not a firmware version of this type (%(versions)s)."),
                    code="firmware",
                    params={"versions": ", ".join(device_type.firmware_versions)},
                ),
            )
        data["firmware"] = firmware
        if data.get("sample_stock") is None:
            data["sample_stock"] = 0
        if data.get("low_stock_threshold") is None:
            data["low_stock_threshold"] = 10
        return data


class DeviceFilterForm(StoreStatusFilterForm):
    """The device list's filters: one store, one status."""

    status_choices = DeviceStatus.choices
