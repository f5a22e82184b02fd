"""Reads of member imports, scoped by principal, and the wording of row errors."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from retail.choices import Role
from retail.tenancy import Principal

from ..choices import ImportStage
from ..models import MemberImport, MemberImportError
from ..services.imports import NOTE

# What a row error code says, in the reader's language; %(value)s is the (masked) value.
MESSAGES = {
    "required": _("Required."),
    "invalid_phone": _("Not a valid phone number (%(value)s)."),
    "too_long": _("Longer than %(value)s characters."),
    "invalid_date": _("Not a date (%(value)s); use YYYY-MM-DD or YYYY-MM-DD HH:MM."),
    "future_date": _("A date in the future."),
    "invalid_boolean": _("Not yes or no (%(value)s)."),
    "tag_too_long": _("A tag is longer than %(value)s characters."),
    "too_many_tags": _("More than %(value)s tags."),
    "unknown_store": _("No store of the brand has the code %(value)s."),
    "not_your_store": _("Not one of your stores (%(value)s)."),
    "unknown_guide": _("No guide of the brand has the username %(value)s."),
    "external_id_taken": _("Another member of the brand has the external id %(value)s."),
    "external_id_repeated": _("An earlier row with another phone has the external id %(value)s."),
    "repeated_phone": _("The phone %(value)s appears in an earlier row: merged into that member."),
}
COLUMN_LABELS = {
    "phone": _("Phone"),
    "name": _("Name"),
    "external_id": _("External id"),
    "store": _("Store"),
    "guide": _("Guide"),
    "joined_at": _("Joined at"),
    "consent_call": _("Consent to calls"),
    "consent_sms": _("Consent to SMS"),
    "consent_chat": _("Consent to work-chat"),
    "tags": _("Tags"),
    NOTE: _("Note"),
}


def may_import(principal: Principal) -> bool:
    """HQ admins (any store) and store managers (their stores) import members; guides do not."""
    return principal.is_superuser or principal.role in (Role.HQ_ADMIN, Role.STORE_MANAGER)


def imports_for(*, principal: Principal) -> QuerySet[MemberImport]:
    """Imports a principal may see: the brand's for HQ, their stores' for a store manager."""
    if not may_import(principal):
        return MemberImport.objects.none()
    return MemberImport.objects.for_principal(principal).select_related("store", "uploaded_by")


def import_row_errors(*, member_import: MemberImport, notes: bool = False) -> QuerySet[MemberImportError]:
    """The import's invalid rows in file order (or, with `notes`, its merged repeats)."""
    qs = MemberImportError.objects.filter(member_import=member_import).order_by("row_number")
    return qs.filter(errors__has_key=NOTE) if notes else qs.exclude(errors__has_key=NOTE)


def describe_errors(errors: dict) -> list[tuple[str, list[str]]]:
    """[(column label, [messages])] for one row's stored errors, worded for the reader."""
    described = []
    for column, entries in errors.items():
        messages = []
        for entry in entries:
            template = MESSAGES.get(entry.get("code"), entry.get("code", ""))
            messages.append(str(template) % {"value": entry.get("value", "")})
        described.append((str(COLUMN_LABELS.get(column, column)), messages))
    return described


def import_percent(member_import: MemberImport) -> int:
    """How far the running stage is, 0–100 (the dry run counts checked rows, the import
    committed ones)."""
    total = member_import.rows_total or 0
    if member_import.stage in (ImportStage.DONE, ImportStage.CHECKED):
        return 100
    done = (
        member_import.rows_checked if member_import.stage == ImportStage.CHECKING else member_import.rows_done
    )
    if not total:
        return 0
    return min(100, int(done * 100 / total))


def is_running(member_import: MemberImport) -> bool:
    return member_import.stage in (ImportStage.CHECKING, ImportStage.IMPORTING)
