"""The coupon counter (/promotions/counter/): the workbench page where a guide or a store
manager (HQ for any store of the brand) finds a member by phone, gives a coupon, and
redeems a member's coupon on a purchase, also with the store's network down.

- GET  /promotions/counter/?store=<id>[&m=<signed member>]   the page
- POST find/    a member by exact phone -> back to the page with the member (signed ref)
- POST give/    claim_coupon(via workbench, key = the form's UUID: a double tap claims once)
- POST redeem/  a token (QR) or a plain code + subtotal + order reference -> redeem_coupon
- GET  pack.json  what the tablet caches to verify tokens offline (public keys, templates)
- POST sync/      the tablet's queued offline redemptions (JSON) -> an outcome per record
- POST blocks/    take an offline block (JSON answer: the coupons and their tokens)
- POST blocks/<block_id>/sync/   the block's handouts (JSON) -> an outcome per handout
- GET  sw.js      the service worker, served under the page's path so its scope is the page

Thin: reads through promotions.selectors.counter, writes through promotions.services."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from members import selectors as member_selectors
from retail import serviceworker
from retail.errors import DomainError
from retail.forms import add_domain_errors

from ..choices import ClaimVia, RedemptionSource
from ..forms.counter import BlockForm, FindMemberForm, GiveCouponForm, RedeemForm
from ..models import OfflineBlock
from ..selectors import counter as selectors
from ..services import coupons as coupon_services
from ..services import guard, offline, tokens

MEMBER_SALT = "promotions.counter.member"
MEMBER_MAX_AGE = 4 * 3600  # a member served at the counter: the ref lasts a shift
MAX_JSON_BYTES = 512 * 1024
SHELL_STATIC = (
    "css/tiandi.css",
    "css/promotions-counter.css",
    "js/promotions-counter.js",
    "js/menu.js",
    "vendor/htmx/htmx.min.js",
    "favicon.svg",
)


# --- helpers ------------------------------------------------------------------------------


def _principal(request):
    principal = request.principal
    if not selectors.may_use_counter(principal):
        raise PermissionDenied
    return principal


def _store_id(request) -> int | None:
    raw = request.GET.get("store") or request.POST.get("store") or ""
    try:
        return int(raw) if raw else None
    except ValueError:
        raise Http404 from None


def _store(request, *, required: bool = True):
    store = selectors.counter_store(principal=_principal(request), store_id=_store_id(request))
    if store is None and required:
        raise Http404
    return store


def _page_url(store, member_ref: str = "") -> str:
    query = {"store": store.pk}
    if member_ref:
        query["m"] = member_ref
    return f"{reverse('promotions:counter')}?{urlencode(query)}"


def _member_ref(member) -> str:
    return signing.dumps({"m": member.pk, "b": member.brand_id}, salt=MEMBER_SALT)


def _member_from_ref(ref: str, store):
    """The member a signed ref names (made by this page for this brand), or None."""
    if not ref:
        return None
    try:
        data = signing.loads(ref, salt=MEMBER_SALT, max_age=MEMBER_MAX_AGE)
    except signing.BadSignature:
        return None
    if data.get("b") != store.brand_id:
        return None
    from members.models import Member

    return Member.objects.filter(brand_id=store.brand_id, pk=data.get("m")).select_related("tier").first()


def _error(exc: DomainError) -> JsonResponse:
    response = JsonResponse(
        {"error": {"code": exc.code, "message": exc.message, "fields": exc.fields}}, status=exc.status
    )
    if getattr(exc, "retry_after", None):
        response["Retry-After"] = str(exc.retry_after)
    return response


def _json_body(request):
    if len(request.body) > MAX_JSON_BYTES:
        raise DomainError("too_large", _("Too much at once: sync in smaller batches."), status=413)
    try:
        return json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise DomainError("invalid_json", _("The request is not valid JSON."), status=400) from None


def _strings() -> dict:
    # worded when the page renders, in its language; the script fills the numbers
    return {
        "offline": _lazy("Offline — %(n)s redemptions waiting"),
        "offlineNone": _lazy("Offline — redemptions are checked on this tablet and synced later"),
        "waiting": _lazy("%(n)s redemptions waiting to sync"),
        "syncing": _lazy("Syncing…"),
        "synced": _lazy("Synced"),
        "accepted": _lazy("Accepted"),
        "conflict": _lazy("Double spend: HQ has an incident"),
        "rejected": _lazy("Rejected"),
        "queued": _lazy("Redeemed offline: ¥%(discount)s off. It will sync when the network is back."),
        "forged": _lazy("This is not a genuine coupon of this brand."),
        "needToken": _lazy(
            "Offline, scan the member's QR code: a typed code cannot be checked without the network."
        ),
        "noPack": _lazy("This tablet has not been prepared for offline use yet."),
        "wrongStore": _lazy("This coupon is not valid in this store."),
        "notYet": _lazy("This coupon is not valid yet."),
        "expired": _lazy("This coupon has expired."),
        "threshold": _lazy("The order must come to ¥%(threshold)s or more for this coupon."),
        "badSubtotal": _lazy("Enter the order's amount."),
        "usedHere": _lazy("This coupon was already redeemed on this tablet."),
        "scan": _lazy("Scan QR"),
        "stopScan": _lazy("Stop scanning"),
        "noCamera": _lazy("No camera scanning in this browser: type or paste the code."),
        "blockTaken": _lazy("%(n)s coupons on this tablet for offline hand-outs."),
        "handedOut": _lazy("Coupon %(code)s for %(phone)s: it will be confirmed when the tablet syncs."),
        "blockEmpty": _lazy("No coupons left in this tablet's block."),
        "badPhone": _lazy("Enter the member's phone number."),
        "handoutsWaiting": _lazy("%(n)s hand-outs waiting to sync"),
        "failed": _lazy("Could not reach the server; try again."),
    }


# --- the page -----------------------------------------------------------------------------


def _render(request, store, *, member=None, find_form=None, give_form=None, redeem_form=None, status=200):
    principal = request.principal
    store_templates = selectors.templates_for_store(store=store)
    templates = selectors.templates_for_member(store_templates, member) if member else store_templates
    coupons = selectors.member_coupons(member=member) if member else []
    context = {
        "section": "counter",
        "nav_section": "promotions",
        "store": store,
        "stores": selectors.counter_stores(principal=principal) if principal.role != "guide" else [],
        "member": member,
        "member_ref": _member_ref(member) if member else "",
        "coupons": coupons,
        "benefits": selectors.member_benefits(member=member) if member else [],
        "templates": templates,
        "find_form": find_form or FindMemberForm(),
        "give_form": give_form
        or (GiveCouponForm(templates=templates, initial={"member": _member_ref(member)}) if member else None),
        "redeem_form": redeem_form or RedeemForm(),
        "block_templates": store_templates,
        "recent": selectors.recent_offline_redemptions(store=store, limit=10),
        "config": {
            "store": store.pk,
            "brand": store.brand_id,
            "pack": f"{reverse('promotions:counter_pack')}?store={store.pk}",
            "sync": f"{reverse('promotions:counter_sync')}?store={store.pk}",
            "blocks": f"{reverse('promotions:counter_blocks')}?store={store.pk}",
            "blockSync": reverse("promotions:counter_block_sync", kwargs={"block_id": 0})
            + f"?store={store.pk}",
            "serviceWorker": reverse("promotions:counter_sw"),
            "retrySeconds": 20,
        },
        "strings": _strings(),
    }
    for template in store_templates:
        template.describe = coupon_services.describe(template)
    return render(request, "promotions/counter/page.html", context, status=status)


@login_required
@require_GET
@never_cache
def counter(request):
    principal = _principal(request)
    store = _store(request, required=False)
    if store is None:
        if _store_id(request) is not None:
            raise Http404
        stores = selectors.counter_stores(principal=principal)
        return render(
            request,
            "promotions/counter/choose_store.html",
            {"stores": stores, "section": "counter", "nav_section": "promotions"},
        )
    member = _member_from_ref(request.GET.get("m", ""), store)
    return _render(request, store, member=member)


@login_required
@require_POST
def find_member(request):
    store = _store(request)
    form = FindMemberForm(request.POST)
    if form.is_valid():
        member = member_selectors.member_by_phone(brand_id=store.brand_id, phone=form.cleaned_data["phone"])
        if member is not None:
            return redirect(_page_url(store, _member_ref(member)))
        form.add_error("phone", _("No member with this phone number. Check the number, or have them join."))
    return _render(request, store, find_form=form, status=200)


@login_required
@require_POST
def give_coupon(request):
    store = _store(request)
    member = _member_from_ref(request.POST.get("member", ""), store)
    if member is None:
        messages.error(request, _("Find the member again: the page was open too long."))
        return redirect(_page_url(store))
    templates = selectors.templates_for_store(store=store)
    form = GiveCouponForm(request.POST, templates=templates)
    if form.is_valid():
        template = form.cleaned_data["template"]
        try:
            claim = coupon_services.claim_coupon(
                template=template,
                member=member,
                via=ClaimVia.WORKBENCH,
                key=f"counter:{form.cleaned_data['key']}",
                staff_id=request.user.pk,
                store=store,
            )
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(member)s now holds “%(coupon)s” (code ending %(last)s).")
                % {"member": member.phone_masked, "coupon": template.name, "last": claim.coupon.code[-4:]},
            )
            return redirect(_page_url(store, _member_ref(member)))
    return _render(request, store, member=member, give_form=form, status=200)


def _code_from(text: str, brand_id: int) -> str:
    """The coupon code in what was scanned or typed: a token (verified) or a plain code."""
    text = (text or "").strip()
    if text.startswith(tokens.PREFIX + "."):
        return coupon_services.normalise_code(tokens.verify(text, brand_id=brand_id).get("c"))
    return coupon_services.normalise_code(text)


@login_required
@require_POST
def redeem(request):
    store = _store(request)
    member = _member_from_ref(request.POST.get("member", ""), store)
    form = RedeemForm(request.POST)
    if not form.is_valid():
        return _render(request, store, member=member, redeem_form=form, status=200)
    data = form.cleaned_data
    who = {"user_id": request.user.pk, "store_id": store.pk}
    try:
        guard.check_code_attempt(**who)
        try:
            code = _code_from(data["token"], store.brand_id)
            if not code:
                raise coupon_services.not_found()
            redemption = coupon_services.redeem_coupon(
                brand_id=store.brand_id,
                code=code,
                store=store,
                subtotal=data["subtotal"],
                source=RedemptionSource.WORKBENCH,
                staff_id=request.user.pk,
                order_ref=data["order_ref"],
            )
        except DomainError as exc:
            if exc.status == 404 or exc.code == "invalid_token":
                guard.record_code_failure(**who)
            raise
    except DomainError as exc:
        add_domain_errors(form, exc)
        return _render(request, store, member=member, redeem_form=form, status=exc.status)
    messages.success(
        request,
        _("Redeemed: ¥%(discount)s off an order of ¥%(subtotal)s (coupon ending %(last)s).")
        % {
            "discount": redemption.discount,
            "subtotal": redemption.order_subtotal,
            "last": redemption.coupon.code[-4:],
        },
    )
    return redirect(_page_url(store, _member_ref(member) if member else ""))


# --- offline: the pack, the sync, blocks, the service worker ---------------------------


@login_required
@require_GET
@never_cache
def pack(request):
    store = _store(request)
    return JsonResponse(selectors.offline_pack(store=store))


@login_required
@require_POST
def sync(request):
    store = _store(request)
    try:
        body = _json_body(request)
        if not isinstance(body, dict):
            raise DomainError("invalid_json", _("Send an object with the records."), status=400)
        outcomes = offline.sync_redemptions(
            store=store,
            staff_id=request.user.pk,
            device_label=str(body.get("device") or ""),
            records=body.get("records"),
        )
    except DomainError as exc:
        return _error(exc)
    return JsonResponse({"outcomes": [o.as_dict() for o in outcomes]})


@login_required
@require_POST
def issue_block(request):
    store = _store(request)
    templates = selectors.templates_for_store(store=store)
    try:
        body = _json_body(request)
        form = BlockForm(body if isinstance(body, dict) else {}, templates=templates)
        if not form.is_valid():
            first = next(iter(form.errors.values()))[0]
            raise DomainError("invalid", first, fields=form.errors, status=400)
        block = offline.issue_block(
            template=form.cleaned_data["template"],
            store=store,
            holder_id=request.user.pk,
            device_label=form.cleaned_data["device_label"],
            size=form.cleaned_data["size"],
        )
    except DomainError as exc:
        return _error(exc)
    coupons = offline.block_coupons(block)
    return JsonResponse(
        {
            "block": block.pk,
            "template": block.template_id,
            "name": block.template.name,
            "size": block.size,
            "coupons": [{"code": c.code, "token": c.token} for c in coupons],
        }
    )


@login_required
@require_POST
def sync_block(request, block_id: int):
    principal = _principal(request)
    block = OfflineBlock.objects.for_principal(principal).filter(pk=block_id).first()
    if block is None:
        raise Http404
    try:
        body = _json_body(request)
        handouts = body.get("handouts") if isinstance(body, dict) else None
        outcomes = offline.sync_block(block=block, handouts=handouts, staff_id=request.user.pk)
    except DomainError as exc:
        return _error(exc)
    block.refresh_from_db()
    return JsonResponse(
        {
            "block": block.pk,
            "status": block.status,
            "handed_out": block.handed_out,
            "returned": block.returned,
            "outcomes": [o.as_dict() for o in outcomes],
        }
    )


@login_required
@require_GET
def service_worker(request):
    """The counter's service worker under /promotions/counter/ (its scope is the page); it is
    told the page shell (hashed static names in production) and the pack's path."""
    _principal(request)
    shell = {
        "version": "counter-v1",
        "page": reverse("promotions:counter"),
        "pack": reverse("promotions:counter_pack"),
        "static": [static(name) for name in SHELL_STATIC],
    }
    response = serviceworker.worker_response(
        "COUNTER_SHELL", shell, "js/sw-common.js", "js/promotions-counter-sw.js"
    )
    return response


urlpatterns = [
    path("", counter, name="counter"),
    path("find/", find_member, name="counter_find"),
    path("give/", give_coupon, name="counter_give"),
    path("redeem/", redeem, name="counter_redeem"),
    path("pack.json", pack, name="counter_pack"),
    path("sync/", sync, name="counter_sync"),
    path("blocks/", issue_block, name="counter_blocks"),
    path("blocks/<int:block_id>/sync/", sync_block, name="counter_block_sync"),
    path("sw.js", service_worker, name="counter_sw"),
]
