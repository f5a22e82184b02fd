"""Coupon templates: HQ creates and changes them (what a coupon is worth, how many, for whom,
where and when), and turns giving them out on and off.

Every rule is checked before anything is written and refused with field errors (nothing
changed). Coupons point at their template, so once a template's campaign is published, or
once members hold its coupons, its terms are frozen: only the stock (raised, or lowered
down to what is taken) and the name may change, so coupons already held keep their terms. The stock never goes below what is
already taken: the template's row is locked while it changes, so claims (a conditional
UPDATE of the same row) wait and then see the new stock. Who may call them (HQ) is the
caller's check: `may_manage_templates`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Tier
from retail import audit
from retail.choices import AuditAction, Role
from retail.errors import Conflict, InvalidInput
from retail.models import Store
from retail.tenancy import Principal

from ..choices import CampaignStatus, CouponChannel, DiscountKind, Stacking
from ..models import Campaign, Coupon, CouponTemplate
from . import stockgate

MAX_AMOUNT = Decimal("1000000")
MAX_STOCK = 2_000_000_000
MAX_PER_MEMBER = 1000
CENT = Decimal("0.01")

# what a held coupon is worth and where and when it may be used: frozen once coupons exist
TERMS = (
    "kind",
    "amount_off",
    "percent_off",
    "threshold",
    "per_member_limit",
    "channel",
    "valid_from",
    "valid_until",
    "stacking",
    "campaign",
    "tiers",
    "valid_stores",
)
FIELDS = ("name", "total_stock", *TERMS)


def may_manage_templates(principal: Principal) -> bool:
    """Coupon templates are brand-wide: HQ (and superusers) write them."""
    return principal.is_superuser or (principal.brand_id is not None and principal.role == Role.HQ_ADMIN)


# --- validation -----------------------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.fields:
            raise InvalidInput(
                "invalid_template",
                _("Please correct the coupon template: %(fields)s.") % {"fields": ", ".join(self.fields)},
                fields=self.fields,
            )


def _money(value: Any, field: str, errors: _Errors) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors.add(field, _("Enter an amount in CNY, e.g. 50 or 49.90."))
        return None
    if not amount.is_finite() or amount != amount.quantize(CENT):
        errors.add(field, _("At most two decimal places."))
        return None
    if amount > MAX_AMOUNT:
        errors.add(field, _("At most ¥%(max)s.") % {"max": MAX_AMOUNT})
        return None
    return amount.quantize(CENT)


def _integer(value: Any, field: str, errors: _Errors, *, low: int, high: int, message: str) -> int | None:
    if value is None or value == "":
        errors.add(field, message)
        return None
    try:
        number = int(value)
        if Decimal(str(value)) != number:
            raise ValueError
    except (TypeError, ValueError, InvalidOperation):
        errors.add(field, message)
        return None
    if not low <= number <= high:
        errors.add(field, message)
        return None
    return number


def _ids(values: Iterable[Any] | None) -> list[int]:
    out = []
    for value in values or []:
        out.append(int(value.pk if hasattr(value, "pk") else value))
    return sorted(set(out))


def _clean(brand_id: int, data: dict[str, Any], *, claimed: int = 0) -> dict[str, Any]:
    """Check every rule of a template's fields; return them cleaned (tiers and stores as
    lists of ids, the campaign as a row) or raise InvalidInput with every field's error."""
    errors = _Errors()
    out: dict[str, Any] = {}

    name = " ".join(str(data.get("name") or "").split())
    if not name:
        errors.add("name", _("A coupon template needs a name."))
    elif len(name) > 120:
        errors.add("name", _("At most 120 characters."))
    out["name"] = name

    kind = data.get("kind")
    if kind not in DiscountKind.values:
        errors.add("kind", _("Choose a discount kind."))
    out["kind"] = kind

    amount_off = _money(data.get("amount_off"), "amount_off", errors)
    threshold = _money(data.get("threshold"), "threshold", errors)
    percent = data.get("percent_off")
    out["amount_off"], out["percent_off"], out["threshold"] = None, None, threshold or Decimal("0.00")
    if threshold is not None and threshold < 0:
        errors.add("threshold", _("The minimum spend cannot be negative."))
    if kind == DiscountKind.PERCENT_OFF:
        out["percent_off"] = _integer(
            percent, "percent_off", errors, low=1, high=99, message=_("Enter a percentage from 1 to 99.")
        )
    elif kind in (DiscountKind.AMOUNT_OFF, DiscountKind.THRESHOLD):
        if amount_off is None or amount_off <= 0:
            if "amount_off" not in errors.fields:
                errors.add("amount_off", _("Enter the amount off in CNY, more than 0."))
        else:
            out["amount_off"] = amount_off
        spend = out["threshold"]
        if kind == DiscountKind.THRESHOLD and "threshold" not in errors.fields:
            if spend <= 0:
                errors.add(
                    "threshold", _("A spend-and-save coupon needs a minimum spend, e.g. 300 for 满300减50.")
                )
            elif out["amount_off"] is not None and spend <= out["amount_off"]:
                errors.add(
                    "threshold",
                    _("The minimum spend must be more than the amount off (e.g. 满300减50)."),
                )
        elif spend > 0 and out["amount_off"] is not None and spend <= out["amount_off"]:
            errors.add("threshold", _("The minimum spend must be more than the amount off."))

    total = _integer(
        data.get("total_stock"),
        "total_stock",
        errors,
        low=1,
        high=MAX_STOCK,
        message=_("Enter a stock of at least 1."),
    )
    if total is not None and total < claimed:
        errors.add(
            "total_stock",
            _("%(claimed)s coupons are already taken; the stock cannot be lower.") % {"claimed": claimed},
        )
    out["total_stock"] = total
    out["per_member_limit"] = _integer(
        data.get("per_member_limit", 1),
        "per_member_limit",
        errors,
        low=1,
        high=MAX_PER_MEMBER,
        message=_("Enter a limit per member from 1 to %(max)s.") % {"max": MAX_PER_MEMBER},
    )

    channel = data.get("channel") or CouponChannel.BOTH
    if channel not in CouponChannel.values:
        errors.add("channel", _("Choose a channel."))
    out["channel"] = channel
    stacking = data.get("stacking") or Stacking.EXCLUSIVE
    if stacking not in Stacking.values:
        errors.add("stacking", _("Choose a stacking rule."))
    out["stacking"] = stacking

    valid_from, valid_until = data.get("valid_from"), data.get("valid_until")
    if not isinstance(valid_from, dt.datetime):
        errors.add("valid_from", _("Enter the date and time the coupon becomes valid."))
    if not isinstance(valid_until, dt.datetime):
        errors.add("valid_until", _("Enter the date and time the coupon expires."))
    if isinstance(valid_from, dt.datetime) and isinstance(valid_until, dt.datetime):
        if timezone.is_naive(valid_from):
            valid_from = timezone.make_aware(valid_from)
        if timezone.is_naive(valid_until):
            valid_until = timezone.make_aware(valid_until)
        if valid_until <= valid_from:
            errors.add("valid_until", _("The coupon must expire after it becomes valid."))
    out["valid_from"], out["valid_until"] = valid_from, valid_until

    campaign = data.get("campaign")
    if campaign is not None and not isinstance(campaign, Campaign):
        campaign = Campaign.objects.filter(pk=campaign).first() if str(campaign).isdigit() else None
        if campaign is None:
            errors.add("campaign", _("Choose a campaign of the brand."))
    if isinstance(campaign, Campaign) and campaign.brand_id != brand_id:
        errors.add("campaign", _("Choose a campaign of the brand."))
        campaign = None
    out["campaign"] = campaign

    try:
        tier_ids = _ids(data.get("tiers"))
        store_ids = _ids(data.get("valid_stores"))
    except (TypeError, ValueError):
        errors.add("tiers", _("Unknown tier or store."))
        tier_ids, store_ids = [], []
    if tier_ids:
        found = set(Tier.objects.filter(brand_id=brand_id, pk__in=tier_ids).values_list("pk", flat=True))
        if found != set(tier_ids):
            errors.add("tiers", _("Choose tiers of the brand."))
    if store_ids:
        found = set(Store.objects.filter(brand_id=brand_id, pk__in=store_ids).values_list("pk", flat=True))
        if found != set(store_ids):
            errors.add("valid_stores", _("Choose stores of the brand."))
    out["tiers"], out["valid_stores"] = tier_ids, store_ids

    errors.raise_if_any()
    return out


def _duplicate_name() -> Conflict:
    return Conflict(
        "duplicate_name",
        _("The brand already has a coupon template with this name."),
        fields={"name": [_("Already taken.")]},
    )


def _name_taken(brand_id: int, name: str, *, but: int | None = None) -> bool:
    return CouponTemplate.objects.filter(brand_id=brand_id, name=name).exclude(pk=but).exists()


def _snapshot(template: CouponTemplate) -> dict:
    data = audit.snapshot(template)
    data["tiers"] = sorted(template.tiers.values_list("pk", flat=True))
    data["valid_stores"] = sorted(template.valid_stores.values_list("pk", flat=True))
    return data


def _current(template: CouponTemplate) -> dict[str, Any]:
    """The template's fields in the shape `_clean` returns."""
    return {
        "name": template.name,
        "kind": template.kind,
        "amount_off": template.amount_off,
        "percent_off": template.percent_off,
        "threshold": template.threshold,
        "total_stock": template.total_stock,
        "per_member_limit": template.per_member_limit,
        "channel": template.channel,
        "stacking": template.stacking,
        "valid_from": template.valid_from,
        "valid_until": template.valid_until,
        "campaign": template.campaign,
        "tiers": sorted(template.tiers.values_list("pk", flat=True)),
        "valid_stores": sorted(template.valid_stores.values_list("pk", flat=True)),
    }


def _same(field: str, old: Any, new: Any) -> bool:
    if field == "campaign":
        return (old.pk if old else None) == (new.pk if new else None)
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        return (None if old is None else Decimal(old)) == (None if new is None else Decimal(new))
    return old == new


def frozen_reason(template: CouponTemplate) -> str:
    """Why the template's terms can no longer change ("" while they can)."""
    if template.campaign_id and template.campaign.status != CampaignStatus.DRAFT:
        return _(
            "The campaign is published, so this coupon's terms are frozen: coupons already held "
            "keep their terms. You can still change the stock (not below what is taken) and the name."
        )
    if template.claimed or Coupon.objects.filter(template_id=template.pk).exists():
        return _(
            "Members already hold coupons of this template, so its terms are frozen: coupons "
            "already held keep their terms. You can still change the stock (not below what is taken) and the name."
        )
    return ""


# --- use cases ------------------------------------------------------------------------------


def create_template(*, brand_id: int, **fields: Any) -> CouponTemplate:
    """A new coupon template of the brand: `name`, `kind`, `amount_off` / `percent_off`,
    `threshold`, `total_stock`, `per_member_limit`, `channel`, `stacking`, `valid_from`,
    `valid_until`, `campaign` (row or id), `tiers` and `valid_stores` (rows or ids), and
    `is_active`. Every rule checked (InvalidInput with field errors); name unique per brand
    (Conflict). Audited."""
    unknown = set(fields) - set(FIELDS) - {"is_active"}
    if unknown:
        raise InvalidInput(
            "invalid_template", _("Unknown fields: %(f)s.") % {"f": ", ".join(sorted(unknown))}
        )
    clean = _clean(brand_id, fields)
    if clean["campaign"] is not None and clean["campaign"].status == CampaignStatus.ENDED:
        raise InvalidInput(
            "campaign_ended",
            _("The campaign has ended; choose another."),
            fields={"campaign": [_("This campaign has ended.")]},
        )
    tiers, stores = clean.pop("tiers"), clean.pop("valid_stores")
    try:
        with transaction.atomic():
            template = CouponTemplate.objects.create(
                brand_id=brand_id, is_active=bool(fields.get("is_active", True)), **clean
            )
            template.tiers.set(tiers)
            template.valid_stores.set(stores)
            audit.record(AuditAction.CREATE, template, after=_snapshot(template))
    except IntegrityError as exc:
        if _name_taken(brand_id, clean["name"]):
            raise _duplicate_name() from exc
        raise
    return template


def update_template(*, template: CouponTemplate, **changes: Any) -> CouponTemplate:
    """Change some of a template's fields (the others stay). The stock never goes below
    what is taken. Once its campaign is published (or members hold its coupons) only the
    stock and the name may change: any other change is a Conflict naming the
    frozen fields. A change to nothing changes nothing. Audited."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise InvalidInput(
            "invalid_template", _("Unknown fields: %(f)s.") % {"f": ", ".join(sorted(unknown))}
        )
    try:
        with transaction.atomic():
            locked = (
                CouponTemplate.objects.select_for_update(of=("self",))
                .select_related("campaign")
                .get(pk=template.pk)
            )
            current = _current(locked)
            clean = _clean(locked.brand_id, {**current, **changes}, claimed=locked.claimed)
            changed = [f for f in FIELDS if not _same(f, current[f], clean[f])]
            if not changed:
                return locked
            if (
                "campaign" in changed
                and clean["campaign"] is not None
                and clean["campaign"].status == CampaignStatus.ENDED
            ):
                raise InvalidInput(
                    "campaign_ended",
                    _("The campaign has ended; choose another."),
                    fields={"campaign": [_("This campaign has ended.")]},
                )
            reason = frozen_reason(locked)
            if reason:
                frozen = [f for f in changed if f in TERMS]
                if frozen:
                    raise Conflict(
                        "terms_frozen",
                        reason,
                        fields={f: [_("Frozen: coupons already held keep their terms.")] for f in frozen},
                    )
            before = _snapshot(locked)
            tiers, stores = clean.pop("tiers"), clean.pop("valid_stores")
            row = {f: clean[f] for f in changed if f not in ("tiers", "valid_stores")}
            if row:
                if "campaign" in row:
                    campaign = row.pop("campaign")
                    row["campaign_id"] = campaign.pk if campaign else None
                row["updated_at"] = timezone.now()
                # never save(): `claimed` moves under concurrent claims and must not be written
                CouponTemplate.objects.filter(pk=locked.pk).update(**row)
            if "tiers" in changed:
                locked.tiers.set(tiers)
            if "valid_stores" in changed:
                locked.valid_stores.set(stores)
            if "total_stock" in changed or "is_active" in changed:
                # the flash-sale counter in Redis re-reads the stock after commit
                transaction.on_commit(lambda: stockgate.forget(locked))
            locked.refresh_from_db()
            audit.record(
                AuditAction.UPDATE,
                locked,
                before=before,
                after=_snapshot(locked),
                message=("coupon template changed: " + ", ".join(changed))[:255],
            )
    except IntegrityError as exc:
        name = changes.get("name")
        if name is not None and _name_taken(template.brand_id, " ".join(str(name).split()), but=template.pk):
            raise _duplicate_name() from exc
        raise
    return locked


def set_active(*, template: CouponTemplate, active: bool) -> CouponTemplate:
    """Start or stop giving out the template's coupons (held coupons stay valid). A repeat
    changes nothing. Audited."""
    with transaction.atomic():
        locked = CouponTemplate.objects.select_for_update().get(pk=template.pk)
        if locked.is_active == bool(active):
            return locked
        CouponTemplate.objects.filter(pk=locked.pk).update(is_active=bool(active), updated_at=timezone.now())
        audit.record(
            AuditAction.UPDATE,
            locked,
            before={"is_active": locked.is_active},
            after={"is_active": bool(active)},
            message="coupon template activated" if active else "coupon template deactivated",
        )
        locked.is_active = bool(active)
    template.is_active = locked.is_active
    return locked
