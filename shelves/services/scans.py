"""Scans (the Double-11 evening hot path) and the attribution tokens they hand out.

A token is "sh1.<scan id, base 36>:<signature>" (django.core.signing, salted): it cannot be
forged, carries no brand, and resolves (retail.attribution) to the scan's store, screen,
product and zone guide while the brand's attribution window lasts."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from django.core import signing
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from members import selectors as member_selectors
from members import services as member_services
from members.choices import ConsentChannel, ConsentSource, MemberSource
from members.models import Member
from retail.attribution import Attribution, Status, unknown
from retail.errors import Conflict, InvalidInput
from retail.models import Product, StoreStock

from ..choices import ScreenStatus
from ..models import Scan, Screen
from ..selectors import shelf_settings
from ..stock import in_store

TOKEN_PREFIX = "sh1"
_SALT = "shelves.scan-token"


def _signer() -> signing.Signer:
    return signing.Signer(salt=_SALT)


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def scan_code(screen_scan_code: str, product_id: int) -> str:
    """The code in a product's QR URL on a screen: /s/<screen scan_code>-<product id, base 36>."""
    return f"{screen_scan_code}-{_base36(product_id)}"


def parse_scan_code(code: str) -> tuple[str, int] | None:
    """(screen scan_code, product id) from a QR code's code, or None when malformed."""
    screen_code, sep, digits = (code or "").rpartition("-")
    if not sep or not screen_code or not digits or len(digits) > 13:
        return None
    try:
        return screen_code, int(digits, 36)
    except ValueError:
        return None


def scan_token(scan_id: int) -> str:
    return _signer().sign(f"{TOKEN_PREFIX}.{_base36(scan_id)}")


def read_scan_token(token: str) -> int | None:
    """The scan id in a token we made, or None (bad format or signature)."""
    try:
        value = _signer().unsign(token)
    except signing.BadSignature:
        return None
    prefix, _sep, digits = value.partition(".")
    if prefix != TOKEN_PREFIX or not digits:
        return None
    try:
        return int(digits, 36)
    except ValueError:
        return None


def resolve_token(brand_id: int, token: str, at: datetime) -> Attribution:
    """retail.attribution resolver for "sh1." tokens."""
    scan_id = read_scan_token(token)
    if scan_id is None:
        return unknown()
    scan = (
        Scan.objects.filter(pk=scan_id)
        .values("brand_id", "store_id", "screen_id", "product_id", "scanned_at", "screen__guide_id")
        .first()
    )
    if scan is None:
        return unknown()
    if scan["brand_id"] != brand_id:
        return Attribution(
            Status.FOREIGN,
            _("The attribution token belongs to another brand; the order is stored without attribution."),
            source="shelf_scan",
        )
    window = timedelta(days=shelf_settings(brand_id=brand_id).attribution_days)
    if at > scan["scanned_at"] + window:
        return Attribution(
            Status.EXPIRED,
            _("The scan is older than the attribution window; the order is stored without attribution."),
            source="shelf_scan",
        )
    return Attribution(
        Status.ATTRIBUTED,
        _("Attributed to the cloud-shelf scan."),
        source="shelf_scan",
        store_id=scan["store_id"],
        guide_id=scan["screen__guide_id"],
        shelf_scan_id=scan_id,
        details={"screen": scan["screen_id"], "product": scan["product_id"]},
    )


# --- the scan page (hot path) ----------------------------------------------------------------
#
# A warm scan costs no cache round trip (this process's copy, see LOCAL_SECONDS) or one
# (get_many of the screen's and the product's entries), and ONE database statement: the INSERT of the scan, which also returns the
# store's stock of the product (a sub-select in RETURNING), so stock is always fresh and
# the cache holds one entry per screen and per product, not per screen × product. Entries
# live CACHE_SECONDS: a price or buy-URL change shows within that time, and `forget_screen`
# drops a screen's entry at once (retiring a screen calls it).

CACHE_SECONDS = 60
MISSING_SECONDS = 30  # unknown codes are remembered too, so a bad QR code cannot hammer the db
_MISSING = "-"
MEMBER_COOKIE = "tdm"
MEMBER_COOKIE_SALT = "shelves.scan-member"
MEMBER_COOKIE_DAYS = 365


@dataclass(frozen=True)
class ScanTarget:
    """What a scan code points at: a screen of a store and one product of its brand."""

    screen_id: int
    brand_id: int
    store_id: int
    retired: bool
    buy_url_template: str
    product_id: int
    sku: str
    name: str
    price: str  # Decimal as text: cache entries stay plain data
    online_stock: int
    image_url: str
    active: bool
    store_stock: int | None = None  # set by record_scan; None: the store does not stock it

    def buy_url(self, token: str) -> str:
        """The online store's product page for this product, carrying the token; "" if the
        brand linked no online store."""
        if not self.buy_url_template:
            return ""
        return self.buy_url_template.replace("{sku}", quote(self.sku, safe="")).replace(
            "{token}", quote(token, safe="")
        )


def _screen_key(screen_code: str) -> str:
    return f"shelf:scr:{screen_code}"


def _product_key(product_id: int) -> str:
    return f"shelf:prd:{product_id}"


# In front of the shared cache, each process keeps the entries it read for LOCAL_SECONDS: a
# warm scan then makes no cache round trip at all. Another process sees a retirement or a
# price change up to LOCAL_SECONDS late (this one at once: forget_screen clears both).
LOCAL_SECONDS = 5.0
LOCAL_MAX = 50_000
_local: dict[str, tuple[float, object]] = {}


def _local_get(key: str, now: float):
    found = _local.get(key)
    if found is None or found[0] < now:
        return None
    return found[1]


def _local_set(key: str, value, now: float) -> None:
    if len(_local) >= LOCAL_MAX:
        _local.clear()
    _local[key] = (now + LOCAL_SECONDS, value)


def forget_local() -> None:
    """Forget this process's entries (tests; a cache flush)."""
    _local.clear()


def forget_screen(*, scan_code: str) -> None:
    """Drop a screen's cached scan entry (call after retiring it or changing its store)."""
    _local.pop(_screen_key(scan_code), None)
    cache.delete(_screen_key(scan_code))


def _load_screen(screen_code: str) -> tuple | str:
    # one query: the screen with its brand's buy URL template (LEFT JOIN: no settings yet)
    row = (
        Screen.objects.filter(scan_code=screen_code)
        .values_list("id", "brand_id", "store_id", "status", "brand__shelf_settings__buy_url_template")
        .first()
    )
    if row is None:
        return _MISSING
    screen_id, brand_id, store_id, status, template = row
    return (screen_id, brand_id, store_id, status == ScreenStatus.RETIRED, template or "")


def _load_product(product_id: int) -> tuple | str:
    row = (
        Product.objects.filter(pk=product_id)
        .values_list("brand_id", "sku", "name", "price", "online_stock", "image_url", "is_active")
        .first()
    )
    if row is None:
        return _MISSING
    brand_id, sku, name, price, online_stock, image_url, active = row
    return (brand_id, sku, name, str(price), online_stock, image_url, active)


def scan_target(code: str) -> ScanTarget | None:
    """The screen and product a QR code's code names, from the cache when warm; None when
    the code is malformed, the screen unknown or the product not the screen's brand's."""
    parsed = parse_scan_code(code)
    if parsed is None or len(parsed[0]) > 16:
        return None
    screen_code, product_id = parsed
    screen_key, product_key = _screen_key(screen_code), _product_key(product_id)
    now = time.monotonic()
    found = {key: value for key in (screen_key, product_key) if (value := _local_get(key, now)) is not None}
    if len(found) < 2:
        found.update(cache.get_many([key for key in (screen_key, product_key) if key not in found]))
    screen = found.get(screen_key)
    if screen is None:
        screen = _load_screen(screen_code)
        cache.set(screen_key, screen, MISSING_SECONDS if screen == _MISSING else CACHE_SECONDS)
    _local_set(screen_key, screen, now)
    if screen == _MISSING:
        return None
    product = found.get(product_key)
    if product is None:
        product = _load_product(product_id)
        cache.set(product_key, product, MISSING_SECONDS if product == _MISSING else CACHE_SECONDS)
    _local_set(product_key, product, now)
    if product == _MISSING:
        return None
    screen_id, brand_id, store_id, retired, template = screen
    product_brand_id, sku, name, price, online_stock, image_url, active = product
    if product_brand_id != brand_id:
        # brand B's product id in brand A's code is "not found", like an id that does not exist
        return None
    return ScanTarget(
        screen_id=screen_id,
        brand_id=brand_id,
        store_id=store_id,
        retired=retired,
        buy_url_template=template,
        product_id=product_id,
        sku=sku,
        name=name,
        price=price,
        online_stock=online_stock,
        image_url=image_url,
        active=active,
    )


def record_scan(
    *, target: ScanTarget, member_id: int | None = None, at: datetime | None = None
) -> tuple[int, int | None]:
    """Record one scan: ONE statement, no outbox row (the per-minute `shelf.scans_counted`
    event counts them). Returns the scan id and the store's stock of the product (read by
    the same statement; None when the store does not stock it, by shelves.stock's rule). A member id that is not (or no
    longer) the brand's member is dropped inside the statement instead of failing the scan."""
    at = at or timezone.now()
    quote_name = connection.ops.quote_name
    table = quote_name(Scan._meta.db_table)
    if member_id:
        member_sql = f"(SELECT id FROM {quote_name(Member._meta.db_table)} WHERE id = %s AND brand_id = %s)"
        member_params = [member_id, target.brand_id]
    else:
        member_sql, member_params = "NULL", []
    stock_sql = (
        f"(SELECT quantity FROM {quote_name(StoreStock._meta.db_table)} "
        f"WHERE store_id = %s AND product_id = %s)"
    )
    sql = (
        f"INSERT INTO {table} (brand_id, store_id, screen_id, product_id, scanned_at, member_id) "
        f"VALUES (%s, %s, %s, %s, %s, {member_sql}) RETURNING id, {stock_sql}"
    )
    params = [target.brand_id, target.store_id, target.screen_id, target.product_id, at, *member_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, target.store_id, target.product_id])
        scan_id, stock = cursor.fetchone()
    return scan_id, in_store(stock)


# --- who is scanning: the brand-bound member cookie ------------------------------------------


def member_cookie_value(*, brand_id: int, member_id: int) -> str:
    """The (unsigned) value of the `tdm` cookie; the view signs it with set_signed_cookie."""
    return f"{brand_id}.{member_id}"


def member_from_cookie(value: str | None, *, brand_id: int) -> int | None:
    """The member id in a verified `tdm` cookie when it was set for this brand; a cookie of
    another brand is ignored (a shopper of brand B is a stranger on brand A's screens)."""
    if not value:
        return None
    cookie_brand, _sep, member = value.partition(".")
    if cookie_brand != str(brand_id) or not member.isdigit():
        return None
    return int(member)


def identify_shopper(*, scan_id: int, brand_id: int, phone: str, consent: bool, sms: bool = False) -> int:
    """A shopper on the scan page gives a phone number and agrees to join: the brand's
    member with that phone (joined now, source cloud shelf, the screen's store, when new);
    the scan is linked to them. `sms` is the optional consent to SMS offers. Returns the
    member id. Raises InvalidInput (bad phone, no consent, a scan not the brand's)."""
    if not consent:
        raise InvalidInput(
            "consent_required",
            _("Please agree to join the brand's membership."),
            fields={"consent": [_("Consent is required to join.")]},
        )
    if member_selectors.phone_hash_or_none(phone) is None:
        raise InvalidInput(
            "invalid_phone",
            _("Not a valid phone number."),
            fields={"phone": [_("Not a valid phone number.")]},
        )
    scan = Scan.objects.filter(pk=scan_id, brand_id=brand_id).select_related("store").first()
    if scan is None:
        raise InvalidInput("unknown_scan", _("This scan is not known; please scan the code again."))
    with transaction.atomic():
        member = member_selectors.member_by_phone(brand_id=brand_id, phone=phone)
        if member is None:
            try:
                member = member_services.join_member(
                    brand_id=brand_id,
                    phone=phone,
                    source=MemberSource.CLOUD_SHELF,
                    store=scan.store,
                    consent_source=ConsentSource.STORE,
                    consent_sms=sms,
                )
            except Conflict as exc:  # joined by a concurrent request a moment ago
                if exc.code != "duplicate_phone":
                    raise
                member = member_selectors.member_by_phone(brand_id=brand_id, phone=phone)
                if member is None:  # pragma: no cover - the conflict says it exists
                    raise
        else:
            if sms:
                member_services.record_consent(
                    member=member, channel=ConsentChannel.SMS, granted=True, source=ConsentSource.STORE
                )
        Scan.objects.filter(pk=scan.pk, member__isnull=True).update(member=member)
    return member.pk


# --- the per-minute count: one shelf.scans_counted event per store and minute ----------------

COUNT_GRACE = timedelta(seconds=2)  # a scan stamped just before the minute ends may still commit
CATCH_UP_MINUTES = 5  # a missed run (beat restart, worker down) is made up within this


def complete_minutes(now: datetime, *, count: int = CATCH_UP_MINUTES) -> list[datetime]:
    """The starts of the last `count` complete minutes (ended at least COUNT_GRACE ago), oldest first."""
    last_end = (now - COUNT_GRACE).replace(second=0, microsecond=0)
    return [last_end - timedelta(minutes=n) for n in range(count, 0, -1)]


def publish_scan_counts(*, now: datetime | None = None) -> int:
    """For each recent complete minute, publish one `shelf.scans_counted` event per store that
    had scans (payload: scans, by_screen {screen id: count}, minute). Idempotent without a
    watermark table: the outbox row of a store-minute is the watermark (written in the same
    transaction as the event, so a store-minute is published once, or again after a crash
    that rolled it back); a per-minute cache lock keeps two workers from racing. Returns the
    number of events published."""
    from retail import events
    from retail.models import DomainEvent

    published = 0
    for minute in complete_minutes(now or timezone.now()):
        lock = f"shelf:scans-counted:{minute:%Y%m%d%H%M}"
        if not cache.add(lock, 1, 120):
            continue  # another worker is counting this minute
        try:
            label = minute.isoformat()
            rows = (
                Scan.objects.filter(scanned_at__gte=minute, scanned_at__lt=minute + timedelta(minutes=1))
                .order_by()
                .values_list("brand_id", "store_id", "screen_id")
                .annotate(n=Count("id"))
            )
            stores: dict[tuple[int, int], dict[str, int]] = {}
            for brand_id, store_id, screen_id, n in rows:
                stores.setdefault((brand_id, store_id), {})[str(screen_id)] = n
            if not stores:
                continue
            with transaction.atomic():
                done = set(
                    DomainEvent.objects.filter(
                        name="shelf.scans_counted",
                        brand_id__in={b for b, _s in stores},
                        occurred_at__gte=minute,
                        payload__minute=label,
                    ).values_list("brand_id", "store_id")
                )
                for (brand_id, store_id), by_screen in sorted(stores.items()):
                    if (brand_id, store_id) in done:
                        continue
                    events.publish(
                        "shelf.scans_counted",
                        brand=brand_id,
                        store=store_id,
                        scans=sum(by_screen.values()),
                        by_screen=by_screen,
                        minute=label,
                    )
                    published += 1
        finally:
            cache.delete(lock)
    return published
