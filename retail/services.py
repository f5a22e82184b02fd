"""Use cases of the retail core: every write, in a transaction, audited, emitting events."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import attribution, audit, events
from .choices import API_SCOPES, AuditAction, Channel, Role
from .errors import Conflict, InvalidInput
from .models import ApiClient, ApiToken, Brand, Order, OrderLine, Product, StaffRole, Store, StoreStock

User = get_user_model()

STORE_FIELDS = ("code", "name", "city", "address", "latitude", "longitude", "status")
PRODUCT_FIELDS = ("sku", "name", "category", "price", "online_stock", "image_url", "is_active")


# --- brands, stores, staff ---------------------------------------------------------------


def create_brand(*, name: str, slug: str) -> Brand:
    """Create a tenant."""
    with transaction.atomic():
        brand = Brand.objects.create(name=name, slug=slug)
        audit.record(AuditAction.CREATE, brand, after=audit.snapshot(brand))
    return brand


def create_store(*, brand: Brand | int, **fields: Any) -> Store:
    """Add a store to a brand; the code is unique per brand."""
    brand_id = _id(brand)
    data = {k: v for k, v in fields.items() if k in STORE_FIELDS}
    try:
        with transaction.atomic():
            store = Store.objects.create(brand_id=brand_id, **data)
            audit.record(AuditAction.CREATE, store, after=audit.snapshot(store))
            events.publish("store.created", brand=brand_id, store=store.pk, code=store.code)
    except IntegrityError as exc:
        raise _integrity("code", _("A store with this code already exists."), exc) from exc
    return store


def update_store(*, store: Store, **fields: Any) -> Store:
    """Change a store's details or status."""
    with transaction.atomic():
        store = Store.objects.select_for_update().get(pk=store.pk)
        before = audit.snapshot(store)
        for key, value in fields.items():
            if key in STORE_FIELDS:
                setattr(store, key, value)
        try:
            with transaction.atomic():
                store.save()
        except IntegrityError as exc:
            raise _integrity("code", _("A store with this code already exists."), exc) from exc
        audit.record(AuditAction.UPDATE, store, before=before, after=audit.snapshot(store))
        events.publish("store.updated", brand=store.brand_id, store=store.pk, status=store.status)
    return store


def grant_role(*, user, brand: Brand | int, role: str, store: Store | None = None) -> StaffRole:
    """Give a user a role in a brand (a permission change: audited; a new role publishes
    `staff.role_granted`)."""
    brand_id = _id(brand)
    if store is not None and store.brand_id != brand_id:
        raise InvalidInput("store_other_brand", _("The store belongs to another brand."))
    if (role == Role.HQ_ADMIN) != (store is None):
        raise InvalidInput("role_store_mismatch", _("HQ admins have no store; others need one."))
    with transaction.atomic():
        staff_role, created = StaffRole.objects.get_or_create(
            user=user, brand_id=brand_id, store=store, role=role
        )
        if created:
            audit.record(
                AuditAction.PERMISSION,
                staff_role,
                after=audit.snapshot(staff_role),
                message=f"granted {role}",
            )
            events.publish(
                "staff.role_granted",
                brand=brand_id,
                store=staff_role.store_id,
                user=staff_role.user_id,
                role=role,
            )
    return staff_role


def revoke_role(*, staff_role: StaffRole) -> None:
    """Take a role away (audited; publishes `staff.role_revoked`)."""
    with transaction.atomic():
        before = audit.snapshot(staff_role)
        audit.record(AuditAction.PERMISSION, staff_role, before=before, message="revoked")
        brand_id, store_id, user_id, role = (
            staff_role.brand_id,
            staff_role.store_id,
            staff_role.user_id,
            staff_role.role,
        )
        staff_role.delete()
        events.publish("staff.role_revoked", brand=brand_id, store=store_id, user=user_id, role=role)


# --- catalog --------------------------------------------------------------------------------


def create_product(*, brand: Brand | int, **fields: Any) -> Product:
    """Add a SKU to the brand's product master."""
    brand_id = _id(brand)
    data = {k: v for k, v in fields.items() if k in PRODUCT_FIELDS}
    try:
        with transaction.atomic():
            product = Product.objects.create(brand_id=brand_id, **data)
            audit.record(AuditAction.CREATE, product, after=audit.snapshot(product))
            events.publish("product.created", brand=brand_id, product=product.pk, sku=product.sku)
    except IntegrityError as exc:
        raise _integrity("sku", _("A product with this SKU already exists."), exc) from exc
    return product


def update_product(*, product: Product, **fields: Any) -> Product:
    """Change a product's price, stock or details."""
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=product.pk)
        before = audit.snapshot(product)
        for key, value in fields.items():
            if key in PRODUCT_FIELDS:
                setattr(product, key, value)
        try:
            with transaction.atomic():
                product.save()
        except IntegrityError as exc:
            raise _integrity("sku", _("A product with this SKU already exists."), exc) from exc
        audit.record(AuditAction.UPDATE, product, before=before, after=audit.snapshot(product))
        events.publish("product.updated", brand=product.brand_id, product=product.pk)
    return product


# --- the sales ledger -----------------------------------------------------------------------


# An attribution token longer than this is junk: not resolved, the order is stored without
# attribution (the API accepts any length, so the token alone never loses an order).
ATTRIBUTION_TOKEN_MAX = 2000
# A partner may post an order late (a nightly ERP sync), but the attribution window is not
# measured from a paid_at the client could backdate alone: the check uses the later of paid_at
# and the time we received the order less this grace.
ATTRIBUTION_RECEIVE_GRACE = timedelta(days=1)


def _attribution(
    brand_id: int, token: str, paid_at: datetime, received_at: datetime
) -> tuple[attribution.Attribution, dict[str, Any]]:
    """What an order's attribution token resolves to, and the record the order keeps."""
    if len(token) > ATTRIBUTION_TOKEN_MAX:
        found = attribution.Attribution(
            attribution.Status.UNKNOWN,
            _(
                "The attribution token is too long to be one we made; the order is stored "
                "without attribution."
            ),
        )
    else:
        at = max(paid_at, received_at - ATTRIBUTION_RECEIVE_GRACE)
        found = attribution.resolve(brand_id=brand_id, token=token, at=at)
    return found, found.as_record()


def record_order(
    *,
    brand: Brand | int,
    external_id: str,
    channel: str,
    lines: Iterable[Mapping[str, Any]],
    paid_at: datetime | None = None,
    store: Store | None = None,
    member=None,
    guide=None,
    discount_total: Decimal = Decimal("0"),
    attribution_token: str = "",
) -> Order:
    """Record a sale with its lines; totals are computed here, never trusted from outside.

    Each line is {"product": Product, "quantity": int, "unit_price": Decimal | None}; a
    missing unit price takes the product's price. `external_id` is unique per brand.

    An `attribution_token` (retail.attribution) that resolves attributes the order to its
    store (when the order names none), guide (likewise) and cloud-shelf scan, and an online
    order so attributed counts as a cloud-shelf sale, of the scan's store (a store the order
    named is kept as `attribution.order_store`). The window is checked at the later of
    `paid_at` and the receive time less ATTRIBUTION_RECEIVE_GRACE. A token that does not
    resolve (unknown, expired, foreign, longer than ATTRIBUTION_TOKEN_MAX) never stops the
    order: it is stored without attribution and `order.attribution` says why.
    """
    brand_id = _id(brand)
    lines = list(lines)
    if not lines:
        raise InvalidInput(
            "no_lines",
            _("An order needs at least one line."),
            fields={"lines": [_("At least one line is required.")]},
        )
    if channel == Channel.STORE and store is None:
        raise InvalidInput(
            "store_required",
            _("An in-store order needs a store."),
            fields={"store": [_("Required for channel 'store'.")]},
        )
    for obj, field in ((store, "store"), (member, "member")):
        if obj is not None and obj.brand_id != brand_id:
            raise InvalidInput(
                "other_brand", _("Unknown %(field)s.") % {"field": field}, fields={field: [_("Not found.")]}
            )
    built: list[OrderLine] = []
    subtotal = Decimal("0")
    for line in lines:
        product: Product = line["product"]
        if product.brand_id != brand_id:
            raise InvalidInput(
                "other_brand", _("Unknown product."), fields={"lines": [_("Unknown product.")]}
            )
        quantity = int(line["quantity"])
        unit_price = line.get("unit_price")
        unit_price = product.price if unit_price is None else Decimal(unit_price)
        line_total = (unit_price * quantity).quantize(Decimal("0.01"))
        subtotal += line_total
        built.append(
            OrderLine(
                brand_id=brand_id,
                product=product,
                sku=product.sku,
                name=product.name,
                quantity=quantity,
                unit_price=unit_price,
                line_total=line_total,
            )
        )
    discount_total = Decimal(discount_total or 0)
    if discount_total < 0 or discount_total > subtotal:
        raise InvalidInput(
            "bad_discount",
            _("The discount must be between 0 and the subtotal."),
            fields={"discount_total": [_("Out of range.")]},
        )
    received_at = timezone.now()
    paid_at = paid_at or received_at
    store_id = store.pk if store is not None else None
    guide_id = guide.pk if guide is not None else None
    shelf_scan_id = None
    attribution_record: dict[str, Any] = {}
    attribution_token = (attribution_token or "").strip()
    if attribution_token:
        found, attribution_record = _attribution(brand_id, attribution_token, paid_at, received_at)
        if found.ok:
            guide_id = guide_id or found.guide_id
            shelf_scan_id = found.shelf_scan_id
            if channel == Channel.ONLINE and shelf_scan_id:
                channel = Channel.CLOUD_SHELF
            if channel == Channel.CLOUD_SHELF and shelf_scan_id and found.store_id:
                # a cloud-shelf sale counts for the scan's store, so the store's figures (from
                # order.created) and the screen's (through the scan) agree; a store the order
                # named otherwise (the online shop's default or fulfilment store) is kept in
                # the attribution record, and the message says so
                if store_id is not None and store_id != found.store_id:
                    attribution_record["order_store"] = store_id
                    attribution_record["message"] = _(
                        "Attributed to the cloud-shelf scan: the sale counts for the scan's store, "
                        "not for the store the order named."
                    )
                store_id = found.store_id
            else:
                store_id = store_id or found.store_id
        token_limit = Order._meta.get_field("attribution_token").max_length
        if len(attribution_token) > token_limit:  # no token we make is that long: kept, cut
            attribution_record["token_length"] = len(attribution_token)
            attribution_token = attribution_token[:token_limit]
    try:
        with transaction.atomic():
            order = Order.objects.create(
                brand_id=brand_id,
                external_id=external_id,
                channel=channel,
                store_id=store_id,
                member=member,
                guide_id=guide_id,
                attribution_token=attribution_token,
                attribution=attribution_record,
                shelf_scan_id=shelf_scan_id,
                subtotal=subtotal,
                discount_total=discount_total,
                total=subtotal - discount_total,
                paid_at=paid_at,
            )
            for line in built:
                line.order = order
            OrderLine.objects.bulk_create(built)
            events.publish(
                "order.created",
                brand=brand_id,
                store=order.store_id,
                order=order.pk,
                channel=order.channel,
                total=str(order.total),
                member=order.member_id,
                guide=order.guide_id,
                items=sum(line.quantity for line in built),
                paid_at=order.paid_at,
                shelf_scan=order.shelf_scan_id,
                attribution=attribution_record.get("status", ""),
            )
    except IntegrityError as exc:
        raise Conflict(
            "duplicate_external_id",
            _("An order with this external id already exists."),
            fields={"external_id": [_("Already used.")]},
        ) from exc
    order._prefetched_objects_cache = {"lines": built}
    return order


def set_store_stock(*, store: Store, quantities: Mapping[Product | int, int]) -> int:
    """Set how many of each product the store has on hand (an upsert per product, one
    statement); products of another brand are refused. Returns the rows written."""
    product_ids = {_id(p): int(q) for p, q in quantities.items()}
    if any(q < 0 for q in product_ids.values()):
        raise InvalidInput(
            "invalid", _("Stock cannot be negative."), fields={"quantity": [_("Out of range.")]}
        )
    known = set(
        Product.objects.filter(brand_id=store.brand_id, pk__in=product_ids).values_list("pk", flat=True)
    )
    if known != set(product_ids):
        raise InvalidInput("other_brand", _("Unknown product."), fields={"product": [_("Not found.")]})
    rows = [
        StoreStock(brand_id=store.brand_id, store=store, product_id=pk, quantity=q)
        for pk, q in product_ids.items()
    ]
    StoreStock.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["store", "product"],
        update_fields=["quantity", "updated_at"],
    )
    return len(rows)


# --- partner API clients ----------------------------------------------------------------------


TOKEN_PREFIX = "tdk"


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_client(
    *, brand: Brand | int, name: str, scopes: Iterable[str], rate_limit_per_minute: int | None = None
) -> ApiClient:
    """Register a partner integration with named scopes (audited as a permission change)."""
    scopes = sorted(set(scopes))
    unknown = [s for s in scopes if s not in API_SCOPES]
    if unknown:
        raise InvalidInput("unknown_scope", _("Unknown scopes: %(s)s") % {"s": ", ".join(unknown)})
    with transaction.atomic():
        client = ApiClient.objects.create(
            brand_id=_id(brand), name=name, scopes=scopes, rate_limit_per_minute=rate_limit_per_minute
        )
        audit.record(AuditAction.PERMISSION, client, after=audit.snapshot(client))
    return client


def issue_api_token(*, client: ApiClient, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Mint a token; the clear value is returned once and never stored."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    raw = f"{TOKEN_PREFIX}_{prefix}_{secret}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            client=client, prefix=prefix, token_hash=hash_token(raw), expires_at=expires_at
        )
        audit.record(AuditAction.PERMISSION, token, brand_id=client.brand_id, message="token issued")
    return token, raw


TOKEN_USE_RESOLUTION = timedelta(minutes=5)


def note_token_use(*, token: ApiToken, now: datetime) -> None:
    """Remember when a token was last used: at most one write per token per five minutes,
    enough to spot unused tokens without a write on every request."""
    if token.last_used_at is None or now - token.last_used_at > TOKEN_USE_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def revoke_api_token(*, token: ApiToken) -> ApiToken:
    """Revoke a token at once (audited)."""
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(AuditAction.PERMISSION, token, brand_id=token.client.brand_id, message="token revoked")
    return token


# --- helpers ------------------------------------------------------------------------------------


def _id(obj) -> int:
    return obj if isinstance(obj, int) else obj.pk


def _integrity(field: str, message: str, exc: IntegrityError) -> Conflict:
    return Conflict(f"duplicate_{field}", message, fields={field: [message]})
