"""Influencer guides (导购达人化): share links to a product or a piece of content for one
platform, counted clicks, and online orders attributed back to the guide and store.

- A link's short URL is /g/<code>/; `code` is random (secrets) and unique.
- Its attribution token is "gl.<code>" (registered with retail.attribution): an order that
  carries it is attributed to the link's store and guide; another brand's token is FOREIGN
  (and never says whose), an unknown one UNKNOWN, an inactive link's or one older than
  LINK_DAYS is EXPIRED.
- Clicks: a conditional UPDATE (clicks = clicks + 1 WHERE active) and a ShareClick row.
- Orders: `count_link_order` adds an attributed paid order to the link's orders and GMV
  exactly once. The record of it is guides' own `ShareLinkOrder` row, unique per order
  (retail's order is only read, never marked): only the call whose insert made the row adds
  to the link, in the same transaction. A redelivered `order.created`, or two workers at once
  (the second insert waits on the unique index, then finds the first one's row), adds nothing
  twice.
"""

from __future__ import annotations

import datetime as dt
import secrets
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from retail import attribution, events
from retail.attribution import Attribution, Status
from retail.choices import OrderStatus, Role
from retail.errors import DomainError, InvalidInput
from retail.models import Order, Product
from retail.tenancy import Principal

from ..choices import Platform
from ..models import ShareClick, ShareContent, ShareLink, ShareLinkOrder
from .common import NotAllowed, profile_of

TOKEN_PREFIX = "gl"
LINK_DAYS = 90  # a link's token attributes orders for this long after the link was made
CODE_BYTES = 9  # 12 url-safe characters
TOKEN_PARAM = "td"  # the query parameter a content link carries the token in


def connect() -> None:
    attribution.register(TOKEN_PREFIX, resolve_token)


def token_for(code: str) -> str:
    return f"{TOKEN_PREFIX}.{code}"


# --- links ----------------------------------------------------------------------------------


def create_link(
    principal: Principal,
    *,
    platform: str,
    product: Product | None = None,
    content: ShareContent | None = None,
) -> ShareLink:
    """A guide's new share link to a product or a piece of content of their brand, for one
    platform, in their store. Guides (and influencer guides) only."""
    if principal.guide_user_id is None:
        raise NotAllowed("guides_only", gettext_lazy("Only guides make share links."))
    if platform not in Platform.values:
        raise InvalidInput(
            "bad_platform", _("Choose a platform."), fields={"platform": [_("Unknown platform.")]}
        )
    if (product is None) == (content is None):
        raise InvalidInput(
            "one_target",
            _("Share either a product or a piece of content."),
            fields={"product": [_("Choose a product or a piece of content.")]},
        )
    if product is not None and (product.brand_id != principal.brand_id or not product.is_active):
        raise InvalidInput("bad_product", _("Unknown product."), fields={"product": [_("Not found.")]})
    if content is not None and (content.brand_id != principal.brand_id or not content.is_active):
        raise InvalidInput("bad_content", _("Unknown content."), fields={"content": [_("Not found.")]})
    store_id = _guide_store(principal)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return ShareLink.objects.create(
                    brand_id=principal.brand_id,
                    store_id=store_id,
                    guide_id=principal.guide_user_id,
                    product=product,
                    content=content,
                    platform=platform,
                    code=secrets.token_urlsafe(CODE_BYTES),
                )
        except IntegrityError:  # a code collision (1 in 2^72): draw again
            continue
    raise DomainError("no_code", _("Could not make a link code; try again."))


def _guide_store(principal: Principal) -> int:
    profile = profile_of(brand_id=principal.brand_id, user_id=principal.guide_user_id)
    if profile is not None:
        return profile.store_id
    if principal.store_ids:
        return min(principal.store_ids)
    raise NotAllowed("no_store", gettext_lazy("You are not a guide of a store."))


def set_link_active(principal: Principal, *, link: ShareLink, active: bool) -> ShareLink:
    """Turn a link off (its page says so, its token no longer attributes) or on again.
    `link` must come from a scoped lookup; guides change their own, managers their stores'."""
    ShareLink.objects.filter(pk=link.pk).update(is_active=active)
    link.is_active = active
    return link


# --- clicks ---------------------------------------------------------------------------------


def link_by_code(code: str) -> ShareLink | None:
    """The active link with this code (nothing counted), or None."""
    return ShareLink.objects.filter(code=code, is_active=True).only("id", "brand_id").first()


def open_link(code: str, *, referrer_host: str = "", count: bool = True) -> ShareLink | None:
    """Somebody opened /g/<code>/: count one click on an active link (unless `count` is
    False: a client over the click limit) and return it with its product or content and
    brand; None for an unknown or inactive code (nothing counted)."""
    link = (
        ShareLink.objects.select_related("product", "content", "brand")
        .filter(code=code, is_active=True)
        .first()
    )
    if link is None or not count:
        return link
    with transaction.atomic():
        counted = ShareLink.objects.filter(pk=link.pk, is_active=True).update(clicks=F("clicks") + 1)
        if not counted:
            return None
        ShareClick.objects.create(link_id=link.pk, referrer_host=referrer_host[:120])
        events.publish(
            "guide.share_clicked",
            brand=link.brand_id,
            store=link.store_id,
            link=link.pk,
            guide=link.guide_id,
            product=link.product_id,
            content=link.content_id,
            platform=link.platform,
        )
    link.clicks += 1
    return link


def target_url(link: ShareLink, *, buy_url_template: str) -> str:
    """Where the landing page's button goes, carrying the attribution token: the online
    store's product page (the brand's cloud-shelf buy URL template, `{sku}` and `{token}`)
    or the content's own URL with `?td=<token>`. "" when the brand linked no online store."""
    token = token_for(link.code)
    if link.product_id:
        if not buy_url_template:
            return ""
        from urllib.parse import quote

        return buy_url_template.replace("{sku}", quote(link.product.sku, safe="")).replace(
            "{token}", quote(token, safe="")
        )
    parts = urlsplit(link.content.url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=query + urlencode({TOKEN_PARAM: token})))


# --- attribution ----------------------------------------------------------------------------


def resolve_token(brand_id: int, token: str, at: dt.datetime) -> Attribution:
    """retail.attribution resolver for "gl." tokens."""
    _prefix, _sep, code = (token or "").partition(".")
    if not code or len(code) > 24:
        return attribution.unknown()
    link = (
        ShareLink.objects.filter(code=code)
        .values(
            "id", "brand_id", "store_id", "guide_id", "product_id", "content_id", "is_active", "created_at"
        )
        .first()
    )
    if link is None:
        return attribution.unknown()
    if link["brand_id"] != brand_id:
        return Attribution(
            Status.FOREIGN,
            _("The attribution token belongs to another brand; the order is stored without attribution."),
            source="share_link",
        )
    if not link["is_active"] or at > link["created_at"] + dt.timedelta(days=LINK_DAYS):
        return Attribution(
            Status.EXPIRED,
            _("The share link is no longer active; the order is stored without attribution."),
            source="share_link",
        )
    details = {"share_link": link["id"]}
    if link["product_id"]:
        details["product"] = link["product_id"]
    return Attribution(
        Status.ATTRIBUTED,
        _("Attributed to the guide's share link."),
        source="share_link",
        store_id=link["store_id"],
        guide_id=link["guide_id"],
        details=details,
    )


def count_link_order(*, order_id: int) -> bool:
    """Add an order attributed through a share link to the link's orders and GMV, once.
    True if this call counted it (the order's ShareLinkOrder row is the exactly-once record)."""
    order = (
        Order.objects.filter(pk=order_id).values("id", "brand_id", "status", "total", "attribution").first()
    )
    if order is None or order["status"] != OrderStatus.PAID:
        return False
    record = order["attribution"] or {}
    link_id = record.get("share_link")
    if record.get("source") != "share_link" or record.get("status") != Status.ATTRIBUTED or not link_id:
        return False
    link = (
        ShareLink.objects.filter(pk=link_id, brand_id=order["brand_id"])
        .values("brand_id", "store_id")
        .first()
    )
    if link is None:
        return False
    with transaction.atomic():
        # get_or_create inserts in a savepoint; a concurrent insert of the same order blocks
        # on the unique index until the other commits, then fails and is read back as theirs
        _row, created = ShareLinkOrder.objects.get_or_create(
            order_id=order_id,
            defaults={
                "brand_id": link["brand_id"],
                "store_id": link["store_id"],
                "link_id": link_id,
                "amount": order["total"],
            },
        )
        if not created:
            return False
        ShareLink.objects.filter(pk=link_id).update(orders=F("orders") + 1, gmv=F("gmv") + order["total"])
    return True


# --- content (HQ) ---------------------------------------------------------------------------


def _require_hq(principal: Principal) -> None:
    if not (principal.is_superuser or principal.role == Role.HQ_ADMIN):
        raise NotAllowed("hq_only", gettext_lazy("Only HQ manages share content."))


def create_content(
    principal: Principal, *, title: str, url: str, body: str = "", image_url: str = ""
) -> ShareContent:
    """HQ adds a piece of content guides may share."""
    _require_hq(principal)
    if not title.strip() or not url.strip():
        raise InvalidInput("invalid", _("A title and a link are required."))
    return ShareContent.objects.create(
        brand_id=principal.brand_id,
        title=title.strip(),
        url=url.strip(),
        body=body,
        image_url=image_url.strip(),
        created_by_id=principal.user_id,
    )


def set_content_active(principal: Principal, *, content: ShareContent, active: bool) -> ShareContent:
    """HQ retires a piece of content (guides no longer pick it; existing links keep working
    until turned off) or brings it back. `content` must come from a scoped lookup."""
    _require_hq(principal)
    ShareContent.objects.filter(pk=content.pk).update(is_active=active)
    content.is_active = active
    return content
