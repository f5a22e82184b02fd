"""Coupons: what a template is worth on a purchase, claiming one (stock, per-member limit,
tier, window; exactly once per key) and redeeming one in a store (every rule checked, once).

Concurrency is the database's job, not a lock in Python:
- the per-member limit: a conditional upsert on MemberClaimCount (`claimed < limit`);
- the stock: a conditional UPDATE of the template (`claimed < total_stock`), so its row
  lock serialises claimers of one template only for the length of one statement + commit;
- the claim key: a unique (brand, claim_key), a concurrent twin loses the insert and
  returns the winner's coupon;
- redemption: the coupon row is locked (SELECT ... FOR UPDATE) and Redemption.coupon is
  unique, so of 50 simultaneous redeems one wins and 49 get `already_redeemed`.

Errors never tell whether a code exists for another member or brand: each of those is the
same `coupon_not_found`."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from members.models import Member
from retail import events
from retail.errors import Conflict, DomainError, InvalidInput, NotFound
from retail.models import Store

from ..choices import CampaignStatus, ClaimVia, CouponChannel, CouponStatus, DiscountKind, RedemptionSource
from ..models import Coupon, CouponTemplate, MemberClaimCount, Redemption

CODE_LENGTH = 12
# no 0/O, 1/I/L: read aloud and typed by cashiers
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CENT = Decimal("0.01")


class CouponRefused(DomainError):
    """A claim or redemption the rules refuse; `code` says which rule."""

    status = 422


def _refused(code: str, message: str, status: int = 422) -> CouponRefused:
    return CouponRefused(code, message, status=status)


def not_found() -> NotFound:
    return NotFound("coupon_not_found", _("No such coupon. Check the code and the member."))


# --- what a coupon is worth -------------------------------------------------------------


def discount_for(template: CouponTemplate, subtotal: Decimal) -> Decimal:
    """The discount on a purchase of `subtotal` (0 when the threshold is not met); never
    more than the subtotal."""
    subtotal = Decimal(subtotal)
    if subtotal < template.threshold:
        return Decimal("0.00")
    if template.kind == DiscountKind.PERCENT_OFF:
        off = (subtotal * Decimal(template.percent_off or 0) / 100).quantize(CENT, ROUND_HALF_UP)
    else:
        off = Decimal(template.amount_off or 0)
    return min(off, subtotal).quantize(CENT)


def describe(template: CouponTemplate) -> str:
    """ "¥50 off", "20% off", "¥50 off orders of ¥300 or more" (in the active language)."""
    if template.kind == DiscountKind.PERCENT_OFF:
        text = _("%(percent)s%% off") % {"percent": template.percent_off}
    else:
        text = _("¥%(amount)s off") % {"amount": _money(template.amount_off)}
    if template.threshold and template.threshold > 0:
        text = _("%(discount)s orders of ¥%(threshold)s or more") % {
            "discount": text,
            "threshold": _money(template.threshold),
        }
    return text


def _money(value) -> str:
    value = Decimal(value or 0)
    return f"{value:.0f}" if value == value.to_integral() else f"{value:.2f}"


def normalise_code(code: str) -> str:
    return "".join(ch for ch in str(code or "").upper() if ch.isalnum())[:20]


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def valid_store_ids(template: CouponTemplate) -> set[int] | None:
    """Stores where the template's coupons are valid: its own list, else its campaign's
    participating stores, else (None) every store of the brand."""
    ids = set(template.valid_stores.values_list("pk", flat=True))
    if ids:
        return ids
    if template.campaign_id:
        ids = set(template.campaign.store_links.values_list("store_id", flat=True))
        return ids or None
    return None


def tier_ids(template: CouponTemplate) -> set[int]:
    """Tiers the template is restricted to (empty: every member)."""
    return set(template.tiers.values_list("pk", flat=True))


# --- claiming ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    coupon: Coupon
    replayed: bool  # True: the key had already claimed this coupon; nothing was taken


def check_claimable(template: CouponTemplate, member: Member, *, now: dt.datetime | None = None) -> None:
    """The rules a claim must pass before stock is touched (raises CouponRefused)."""
    now = now or timezone.now()
    if member.brand_id != template.brand_id:
        raise NotFound("member_not_found", _("No such member."))
    if not template.is_active:
        raise _refused("template_inactive", _("This coupon is not being given out."))
    if template.campaign_id and template.campaign.status != CampaignStatus.PUBLISHED:
        raise _refused("campaign_not_live", _("The campaign of this coupon is not live."))
    if now >= template.valid_until:
        raise _refused("template_expired", _("This coupon has expired."))
    tiers = tier_ids(template)
    if tiers and member.tier_id not in tiers:
        raise _refused(
            "tier_not_eligible", _("This coupon is only for members of certain tiers."), status=403
        )


def claim_coupon(
    *,
    template: CouponTemplate,
    member: Member,
    via: str = ClaimVia.API,
    key: str = "",
    staff_id: int | None = None,
    store: Store | None = None,
    now: dt.datetime | None = None,
) -> Claim:
    """Give `member` one coupon of `template`. Exactly once per `key` (a repeat returns the
    first coupon, `replayed`); never beyond the stock or the member's limit."""
    now = now or timezone.now()
    key = (key or "")[:120]
    if key:
        earlier = _claimed_with_key(template.brand_id, key)
        if earlier is not None:
            return _replay(earlier, template, member)
    check_claimable(template, member, now=now)
    if store is not None and store.brand_id != template.brand_id:
        raise InvalidInput(
            "invalid_store", _("Choose a store of the brand."), fields={"store": [_("Unknown store.")]}
        )
    try:
        with transaction.atomic():
            take_member_slot(template, member)
            take_stock(template, 1)
            coupon = Coupon.objects.create(
                brand_id=template.brand_id,
                template=template,
                member=member,
                code=new_code(),
                status=CouponStatus.CLAIMED,
                claim_via=via,
                claim_key=key,
                claimed_by_id=staff_id,
                claim_store=store,
                claimed_at=now,
            )
            events.publish(
                "coupon.claimed",
                brand=template.brand_id,
                store=store.pk if store else None,
                coupon=coupon.pk,
                template=template.pk,
                campaign=template.campaign_id,
                member=member.pk,
                via=via,
            )
    except IntegrityError:
        # a concurrent twin with the same key won the insert: answer with its coupon
        earlier = _claimed_with_key(template.brand_id, key) if key else None
        if earlier is None:
            raise
        return _replay(earlier, template, member)
    return Claim(coupon, replayed=False)


def _claimed_with_key(brand_id: int, key: str) -> Coupon | None:
    return Coupon.objects.filter(brand_id=brand_id, claim_key=key).select_related("template").first()


def _replay(coupon: Coupon, template: CouponTemplate, member: Member) -> Claim:
    if coupon.template_id != template.pk or coupon.member_id != member.pk:
        raise Conflict(
            "idempotency_key_reused",
            _("This key was already used for another claim; send a new key for a new claim."),
        )
    return Claim(coupon, replayed=True)


def take_member_slot(template: CouponTemplate, member: Member) -> None:
    """One more of the template for the member, within the limit (or `limit_reached`); call
    inside the transaction that takes the stock, so a refusal there rolls this back."""
    table = MemberClaimCount._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (brand_id, template_id, member_id, claimed) VALUES (%s, %s, %s, 1) "
            f"ON CONFLICT (template_id, member_id) DO UPDATE SET claimed = {table}.claimed + 1 "
            f"WHERE {table}.claimed < %s RETURNING claimed",
            [template.brand_id, template.pk, member.pk, template.per_member_limit],
        )
        row = cursor.fetchone()
    if row is None or row[0] > template.per_member_limit:
        raise _refused(
            "limit_reached",
            _("This member already holds %(limit)s of this coupon, the most allowed.")
            % {"limit": template.per_member_limit},
            status=409,
        )


def take_stock(template: CouponTemplate, count: int = 1) -> int:
    """Take `count` coupons from the template's stock in one conditional UPDATE; returns the
    new claimed count. Raises `sold_out` (nothing taken) when fewer remain."""
    table = CouponTemplate._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET claimed = claimed + %s WHERE id = %s AND claimed + %s <= total_stock "
            f"RETURNING claimed",
            [count, template.pk, count],
        )
        row = cursor.fetchone()
    if row is None:
        raise _refused("sold_out", _("This coupon is all gone."), status=409)
    template.claimed = row[0]
    return row[0]


def return_stock(template: CouponTemplate, count: int) -> None:
    """Give `count` coupons back to the stock (an offline block's unused ones)."""
    if count <= 0:
        return
    table = CouponTemplate._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET claimed = claimed - %s WHERE id = %s AND claimed >= %s",
            [count, template.pk, count],
        )


# --- redeeming -------------------------------------------------------------------------------


def lock_coupon(*, brand_id: int, code: str) -> Coupon | None:
    """The coupon row, locked for the rest of the transaction (None: no such code here)."""
    code = normalise_code(code)
    if not code:
        return None
    return (
        Coupon.objects.select_for_update(of=("self",))
        .select_related("template", "template__campaign", "member")
        .filter(brand_id=brand_id, code=code)
        .first()
    )


def check_redeemable(
    coupon: Coupon | None,
    *,
    store: Store,
    subtotal: Decimal,
    member: Member | None = None,
    at: dt.datetime | None = None,
    online: bool = False,
) -> Decimal:
    """Every rule of a redemption, in the order a cashier would want to hear them; returns
    the discount. Raises NotFound / CouponRefused with a clear message."""
    at = at or timezone.now()
    if (
        coupon is None
        or coupon.status == CouponStatus.RESERVED
        or (member is not None and coupon.member_id != member.pk)
    ):
        raise not_found()
    if coupon.status == CouponStatus.REDEEMED:
        when = (
            date_format(timezone.localtime(coupon.redeemed_at), "SHORT_DATETIME_FORMAT")
            if coupon.redeemed_at
            else ""
        )
        raise _refused(
            "already_redeemed", _("This coupon was already redeemed (%(when)s).") % {"when": when}, status=409
        )
    if coupon.status == CouponStatus.VOID:
        raise _refused("coupon_void", _("This coupon was withdrawn."))
    template = coupon.template
    if at >= template.valid_until:
        raise _refused("coupon_expired", _("This coupon has expired."))
    if at < template.valid_from:
        raise _refused("coupon_not_yet_valid", _("This coupon is not valid yet."))
    wanted = CouponChannel.ONLINE if online else CouponChannel.STORE
    if template.channel not in (wanted, CouponChannel.BOTH):
        message = (
            _("This coupon is for online orders only.")
            if not online
            else _("This coupon is for stores only.")
        )
        raise _refused("wrong_channel", message)
    if store.brand_id != coupon.brand_id:
        raise not_found()
    stores = valid_store_ids(template)
    if stores is not None and store.pk not in stores:
        raise _refused("wrong_store", _("This coupon is not valid in this store."))
    tiers = tier_ids(template)
    if tiers and (coupon.member is None or coupon.member.tier_id not in tiers):
        raise _refused(
            "tier_not_eligible", _("This coupon is only for members of certain tiers."), status=403
        )
    subtotal = Decimal(subtotal)
    if subtotal <= 0:
        raise InvalidInput(
            "invalid_subtotal",
            _("Enter the order's amount."),
            fields={"subtotal": [_("Must be more than 0.")]},
        )
    if subtotal < template.threshold:
        raise _refused(
            "threshold_not_met",
            _("The order must come to ¥%(threshold)s or more for this coupon.")
            % {"threshold": _money(template.threshold)},
        )
    return discount_for(template, subtotal)


def redeem_coupon(
    *,
    brand_id: int,
    code: str,
    store: Store,
    subtotal: Decimal,
    source: str = RedemptionSource.WORKBENCH,
    staff_id: int | None = None,
    member: Member | None = None,
    order_ref: str = "",
    order_id: int | None = None,
    redeemed_at: dt.datetime | None = None,
) -> Redemption:
    """Redeem a coupon on a purchase in `store`: once, whatever the concurrency."""
    now = timezone.now()
    with transaction.atomic():
        coupon = lock_coupon(brand_id=brand_id, code=code)
        discount = check_redeemable(
            coupon, store=store, subtotal=subtotal, member=member, at=redeemed_at or now
        )
        try:
            with transaction.atomic():
                redemption = Redemption.objects.create(
                    brand_id=brand_id,
                    coupon=coupon,
                    store=store,
                    staff_id=staff_id,
                    source=source,
                    order_id=order_id,
                    order_ref=(order_ref or "")[:64],
                    order_subtotal=Decimal(subtotal),
                    discount=discount,
                    redeemed_at=redeemed_at or now,
                )
        except IntegrityError:
            raise _refused("already_redeemed", _("This coupon was already redeemed."), status=409) from None
        Coupon.objects.filter(pk=coupon.pk).update(
            status=CouponStatus.REDEEMED, redeemed_at=redemption.redeemed_at
        )
        coupon.status, coupon.redeemed_at = CouponStatus.REDEEMED, redemption.redeemed_at
        events.publish(
            "coupon.redeemed",
            brand=brand_id,
            store=store.pk,
            coupon=coupon.pk,
            template=coupon.template_id,
            campaign=coupon.template.campaign_id,
            member=coupon.member_id,
            discount=str(discount),
            subtotal=str(Decimal(subtotal)),
            source=source,
        )
    return redemption
