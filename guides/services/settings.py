"""The brand's workbench settings (HQ only): attribution window, quiet hours, frequency cap
and window, telephony and messaging providers, the name members see on calls. Every change
is an AuditEvent with the values before and after."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from retail import audit
from retail.choices import AuditAction, Role
from retail.errors import DomainError
from retail.tenancy import Principal

from ..models import GuideSettings
from ..providers import messaging as messaging_providers
from ..providers import telephony
from .common import NotAllowed, settings_for

FIELDS = (
    "attribution_days",
    "quiet_start",
    "quiet_end",
    "frequency_cap",
    "frequency_window_days",
    "telephony_provider",
    "messaging_provider",
    "caller_name",
)


def may_edit(principal: Principal) -> bool:
    return (principal.is_superuser and principal.brand_id is not None) or principal.role == Role.HQ_ADMIN


def update_settings(principal: Principal, **values: Any) -> GuideSettings:
    """Change the brand's workbench settings (HQ); audited. Unknown providers are refused."""
    if principal.brand_id is None or not may_edit(principal):
        raise NotAllowed(message=_("Only HQ changes the workbench settings."))
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise DomainError("bad_field", f"unknown settings: {', '.join(sorted(unknown))}")
    errors = {}
    if "telephony_provider" in values and values["telephony_provider"] not in telephony.PROVIDERS:
        errors["telephony_provider"] = [_("Unknown telephony provider.")]
    if "messaging_provider" in values and values["messaging_provider"] not in messaging_providers.PROVIDERS:
        errors["messaging_provider"] = [_("Unknown messaging provider.")]
    if errors:
        raise DomainError("invalid", _("Check the settings."), fields=errors, status=400)
    settings_for(principal.brand_id)  # made with the defaults on first use
    with transaction.atomic():
        row = GuideSettings.objects.select_for_update().get(brand_id=principal.brand_id)
        before = audit.snapshot(row)
        for name, value in values.items():
            setattr(row, name, value)
        row.full_clean(exclude=["brand"])
        row.save()
        after = audit.snapshot(row)
        if before != after:
            audit.record(AuditAction.UPDATE, row, before=before, after=after, message="workbench settings")
    return row
