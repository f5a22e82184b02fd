"""The member's phone page (/c/...): public, no login, mobile first.

A campaign is opened through its signed link `/c/<token>/` (HQ shares it, a store prints
it as a QR code: `campaign_path(campaign_id)`); the signed token is the authority, so a
campaign id cannot be walked and another brand's campaign cannot be named. The page lists
the campaign's coupons that can be claimed now. To claim, the shopper identifies with a
phone number and consent (an unknown phone joins the brand, as on the cloud-shelf scan
page), which sets a brand-bound signed cookie `tdc` = brand.member.device; each claim form
carries a one-time key, so a double tap or a resent form gives the same coupon.

"My coupons" lists the member's coupons of the brand with their status, and the member's
benefits. The code and the QR (the offline token the counter scans) are shown only for
coupons claimed on this phone (their claim key names this phone's device id): a phone
number is no secret, and whoever typed someone else's number must not be able to spend
that person's coupons. Every POST is rate-limited per client address and per phone/member.
"""

from __future__ import annotations

import re
import secrets

import segno
from django.core import signing
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_POST

from members import selectors as member_selectors
from members import services as member_services
from members.choices import ConsentChannel, ConsentSource, MemberSource
from members.models import Member
from retail import audit
from retail.errors import Conflict, DomainError, InvalidInput

from ..choices import CampaignStatus, ClaimVia, CouponStatus
from ..models import Campaign, CouponTemplate
from ..selectors import counter as counter_selectors
from ..services import coupons as coupon_services
from ..services import guard, stockgate, tokens

app_name = "mobile_coupons"

_SALT = "promotions.mobile-campaign"
MEMBER_COOKIE = "tdc"
MEMBER_COOKIE_SALT = "promotions.mobile-member"
MEMBER_COOKIE_MAX_AGE = 180 * 24 * 3600
IDENTIFY_PER_ADDRESS = 30  # per hour
IDENTIFY_PER_PHONE = 10  # per hour
CLAIMS_PER_MEMBER = 30  # per 10 minutes
_KEY = re.compile(r"[A-Za-z0-9_-]{8,40}")


# --- the signed campaign link -------------------------------------------------------------------


def campaign_token(campaign_id: int) -> str:
    """The signed token of a campaign's phone page (stable: the same link every time)."""
    return signing.Signer(salt=_SALT).sign(_base36(campaign_id))


def campaign_path(campaign_id: int) -> str:
    """The path of a campaign's phone page, for links and QR codes on staff pages."""
    return reverse("mobile_coupons:campaign", args=[campaign_token(campaign_id)])


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def _campaign(token: str) -> Campaign:
    try:
        campaign_id = int(signing.Signer(salt=_SALT).unsign(token), 36)
    except (signing.BadSignature, ValueError):
        raise Http404 from None
    campaign = Campaign.objects.select_related("brand").filter(pk=campaign_id).first()
    if campaign is None or campaign.status == CampaignStatus.DRAFT:
        raise Http404
    return campaign


# --- who is on the phone ------------------------------------------------------------------------


def _identity(request, brand_id: int) -> tuple[Member | None, str]:
    """(the member named by the brand-bound cookie, this phone's device id)."""
    value = request.get_signed_cookie(MEMBER_COOKIE, default=None, salt=MEMBER_COOKIE_SALT) or ""
    parts = value.split(".")
    if len(parts) != 3 or parts[0] != str(brand_id) or not parts[1].isdigit() or not parts[2]:
        return None, (parts[2] if len(parts) == 3 else "")
    member = Member.objects.filter(pk=int(parts[1]), brand_id=brand_id).select_related("tier").first()
    return member, parts[2]


def _address(request) -> str:
    return audit.current_context().remote_addr or request.META.get("REMOTE_ADDR") or "unknown"


# --- pages ------------------------------------------------------------------------------------------


def _claimable(campaign: Campaign, now) -> list[CouponTemplate]:
    return list(
        CouponTemplate.objects.filter(campaign=campaign, is_active=True, valid_until__gt=now)
        .prefetch_related("tiers")
        .order_by("valid_until", "name")
    )


def _render(request, template: str, context: dict, status: int = 200) -> HttpResponse:
    response = render(request, f"promotions/mobile/{template}", context, status=status)
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"  # the signed link stays on this page
    return response


def _campaign_context(request, token: str, campaign: Campaign, member, *, errors=(), phone="") -> dict:
    now = timezone.now()
    templates = _claimable(campaign, now)
    held = {}
    if member is not None:
        for coupon in counter_selectors.member_coupons(member=member, limit=200):
            held[coupon.template_id] = held.get(coupon.template_id, 0) + 1
    rows = []
    for template in templates:
        tiers = {t.pk for t in template.tiers.all()}
        rows.append(
            {
                "template": template,
                "text": coupon_services.describe(template),
                "remaining": template.remaining,
                "held": held.get(template.pk, 0),
                "limit_reached": held.get(template.pk, 0) >= template.per_member_limit,
                "tier_only": bool(tiers),
                "eligible": not tiers or (member is not None and member.tier_id in tiers),
                "key": secrets.token_urlsafe(12),
            }
        )
    return {
        "campaign": campaign,
        "brand": campaign.brand,
        "token": token,
        "member": member,
        "rows": rows,
        "live": campaign.status == CampaignStatus.PUBLISHED,
        "errors": list(errors),
        "phone": phone,
    }


@never_cache
@require_GET
def campaign_page(request, token: str):
    """The campaign's coupons that can be claimed now, and the identify form or claim buttons."""
    campaign = _campaign(token)
    member, _device = _identity(request, campaign.brand_id)
    return _render(request, "campaign.html", _campaign_context(request, token, campaign, member))


@never_cache
@csrf_protect
@require_POST
def identify(request, token: str):
    """Phone + consent: find the brand's member with that phone, or join them; set the cookie."""
    campaign = _campaign(token)
    phone = (request.POST.get("phone") or "").strip()[:32]
    try:
        guard.hit("mobile:identify:ip", _address(request), limit=IDENTIFY_PER_ADDRESS, window=3600)
        digest = member_selectors.phone_hash_or_none(phone)
        if digest is not None:
            guard.hit("mobile:identify:phone", digest, limit=IDENTIFY_PER_PHONE, window=3600)
        member = _find_or_join(
            brand_id=campaign.brand_id,
            phone=phone,
            consent=request.POST.get("consent") == "on",
            sms=request.POST.get("sms") == "on",
        )
    except guard.RateLimited as exc:
        context = _campaign_context(request, token, campaign, None, errors=[exc.message], phone=phone)
        response = _render(request, "campaign.html", context, status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    except DomainError as exc:
        context = _campaign_context(request, token, campaign, None, errors=[exc.message], phone=phone)
        return _render(request, "campaign.html", context, status=422)
    _member, device = _identity(request, campaign.brand_id)
    response = redirect("mobile_coupons:campaign", token=token)
    response.set_signed_cookie(
        MEMBER_COOKIE,
        f"{campaign.brand_id}.{member.pk}.{device or secrets.token_urlsafe(9)}",
        salt=MEMBER_COOKIE_SALT,
        max_age=MEMBER_COOKIE_MAX_AGE,
        path="/c/",
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )
    return response


def _find_or_join(*, brand_id: int, phone: str, consent: bool, sms: bool) -> Member:
    if not consent:
        raise InvalidInput("consent_required", _("Please agree to join the brand's membership."))
    if member_selectors.phone_hash_or_none(phone) is None:
        raise InvalidInput("invalid_phone", _("Not a valid phone number."))
    member = member_selectors.member_by_phone(brand_id=brand_id, phone=phone)
    if member is not None:
        if sms and not member.consent_sms:
            member_services.record_consent(
                member=member, channel=ConsentChannel.SMS, granted=True, source=ConsentSource.STORE
            )
        return member
    try:
        return member_services.join_member(
            brand_id=brand_id,
            phone=phone,
            source=MemberSource.ONLINE,
            consent_source=ConsentSource.STORE,
            consent_sms=sms,
        )
    except Conflict as exc:  # joined by a concurrent request a moment ago
        found = member_selectors.member_by_phone(brand_id=brand_id, phone=phone)
        if exc.code != "duplicate_phone" or found is None:
            raise
        return found


@never_cache
@csrf_protect
@require_POST
def claim(request, token: str):
    """Claim one coupon of the campaign; the form's one-time key makes a resend harmless."""
    campaign = _campaign(token)
    member, device = _identity(request, campaign.brand_id)
    if member is None:
        return redirect("mobile_coupons:campaign", token=token)
    key = request.POST.get("key") or ""
    template_id = request.POST.get("template") or ""
    template = (
        CouponTemplate.objects.select_related("campaign").filter(pk=template_id, campaign=campaign).first()
        if template_id.isdigit()
        else None
    )
    try:
        if template is None or not _KEY.fullmatch(key):
            raise InvalidInput("invalid", _("This coupon cannot be claimed here. Please reload the page."))
        guard.hit("mobile:claim:member", member.pk, limit=CLAIMS_PER_MEMBER, window=600)
        stockgate.claim(template=template, member=member, via=ClaimVia.MOBILE, key=f"mobile:{device}:{key}")
    except guard.RateLimited as exc:
        context = _campaign_context(request, token, campaign, member, errors=[exc.message])
        response = _render(request, "campaign.html", context, status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    except DomainError as exc:
        context = _campaign_context(request, token, campaign, member, errors=[exc.message])
        return _render(request, "campaign.html", context, status=exc.status if exc.status < 500 else 422)
    return redirect(reverse("mobile_coupons:mine", args=[token]) + "?claimed=1")


@never_cache
@require_GET
def mine(request, token: str):
    """The member's coupons of the brand (code and QR for those claimed on this phone) and
    their campaign benefits."""
    campaign = _campaign(token)
    member, device = _identity(request, campaign.brand_id)
    if member is None:
        return redirect("mobile_coupons:campaign", token=token)
    now = timezone.now()
    rows = []
    for coupon in counter_selectors.member_coupons(member=member, limit=50):
        here = bool(device) and coupon.claim_key.startswith(f"mobile:{device}:")
        usable = coupon.status == CouponStatus.CLAIMED and coupon.template.valid_until > now
        qr = None
        if here and usable:
            qr = mark_safe(  # noqa: S308 - segno's own markup around a token we signed
                segno.make(tokens.sign(coupon), error="l").svg_inline(scale=4, border=2, title=coupon.code)
            )
        rows.append(
            {
                "coupon": coupon,
                "text": coupon_services.describe(coupon.template),
                "here": here,
                "usable": usable,
                "expired": coupon.template.valid_until <= now,
                "qr": qr,
            }
        )
    context = {
        "campaign": campaign,
        "brand": campaign.brand,
        "token": token,
        "member": member,
        "rows": rows,
        "benefits": _benefits(member),
        "claimed": request.GET.get("claimed") == "1",
    }
    return _render(request, "mine.html", context)


def _benefits(member: Member) -> list:
    try:
        from ..selectors import benefits as benefit_selectors
    except ImportError:  # pragma: no cover - another area's module
        return []
    finder = getattr(benefit_selectors, "benefits_for_member", None)
    return list(finder(member=member)) if finder is not None else []


@never_cache
@csrf_protect
@require_POST
def forget(request, token: str):
    """ "Not you?": forget the member on this phone."""
    _campaign(token)
    response = redirect("mobile_coupons:campaign", token=token)
    response.delete_cookie(MEMBER_COOKIE, path="/c/")
    return response


urlpatterns = [
    path("<str:token>/", campaign_page, name="campaign"),
    path("<str:token>/identify/", identify, name="identify"),
    path("<str:token>/claim/", claim, name="claim"),
    path("<str:token>/mine/", mine, name="mine"),
    path("<str:token>/forget/", forget, name="forget"),
]
