"""The shopper's scan page (/s/<code>), the hot path on Double-11 evening.

- `GET /s/<code>` ("scan:scan"): records ONE scan (screen, store, brand, product, time and
  the member when the brand-bound `tdm` cookie names one) and shows the product with a buy
  button to the online store carrying the scan's attribution token. A warm scan is one
  cache round trip and one INSERT (shelves.services.scans); the page is rendered without
  the request's context processors (no session, user or CSRF work on the hot path).
- `GET/POST /s/<code>/member?t=<token>` ("scan:identify"): the optional identify form
  (phone + consent) that joins or finds the member, links the scan and sets the cookie.

Not counted, on purpose: HEAD requests and speculative prefetches (`Sec-Purpose` /
`Purpose: prefetch`, sent by browsers and chat apps' link previews before anybody looks).
A prefetch is answered 503 + no-store, which browsers never use for the real navigation,
so the real open is then counted once; a HEAD gets the page's headers only. Every GET that
answers 200 has recorded exactly one scan, so the count of scans equals the pages shown.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.template import loader
from django.urls import path
from django.utils.translation import get_language
from django.views.decorators.csrf import csrf_protect

from retail.errors import InvalidInput

from ..services import scans as services

app_name = "scan"

_COOKIE_MAX_AGE = services.MEMBER_COOKIE_DAYS * 24 * 3600


def _is_prefetch(request) -> bool:
    purpose = (
        request.headers.get("Sec-Purpose")
        or request.headers.get("Purpose")
        or request.headers.get("X-Purpose")
        or request.headers.get("X-Moz")
        or ""
    )
    return "prefetch" in purpose.lower() or "preview" in purpose.lower()


@functools.cache
def _style() -> str:
    """static/css/shelves-scan.css, inlined in the page: a phone on a crowded shop's network
    gets the page in one round trip (and the page needs no static manifest lookup)."""
    found = finders.find("css/shelves-scan.css")
    return Path(found).read_text(encoding="utf-8") if found else ""


def _page(template: str, context: dict, status: int = 200) -> HttpResponse:
    # No RequestContext: the hot page needs no context processor (and a public page must
    # not vary on the session); the language is the request's, set by LocaleMiddleware.
    context["lang"] = get_language()
    context["style"] = _style()
    body = loader.get_template(f"shelves/scan/{template}").render(context)
    response = HttpResponse(body, status=status)
    # Every open must reach us: a cached page would show an old token and count nothing.
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"  # the token is in the buy link
    return response


def _member_id(request, brand_id: int) -> int | None:
    value = request.get_signed_cookie(services.MEMBER_COOKIE, default=None, salt=services.MEMBER_COOKIE_SALT)
    return services.member_from_cookie(value, brand_id=brand_id)


def _product_context(target: services.ScanTarget, *, code: str, token: str, member_id) -> dict:
    return {
        "t": target,
        "code": code,
        "token": token,
        "buy_url": target.buy_url(token),
        "member_known": bool(member_id),
    }


def scan(request, code: str):
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    target = services.scan_target(code)
    if target is None:
        return _page("not_found.html", {}, status=404)
    if target.retired:
        return _page("retired.html", {}, status=410)
    if not target.active:
        # nothing to buy, so no token and no scan: the shopper gets a friendly page
        return _page("unavailable.html", {"t": target})
    if request.method == "HEAD":
        return _page("head.html", {})
    if _is_prefetch(request):
        return _page("head.html", {}, status=503)
    member_id = _member_id(request, target.brand_id)
    scan_id, store_stock = services.record_scan(target=target, member_id=member_id)
    target = dataclasses.replace(target, store_stock=store_stock)
    token = services.scan_token(scan_id)
    return _page("product.html", _product_context(target, code=code, token=token, member_id=member_id))


@csrf_protect
def identify(request, code: str):
    """The identify form: phone and consent; on success the product page again (same scan,
    same token: nothing is counted twice) with the member cookie set."""
    target = services.scan_target(code)
    if target is None:
        return _page("not_found.html", {}, status=404)
    if target.retired:
        return _page("retired.html", {}, status=410)
    token = request.POST.get("t") if request.method == "POST" else request.GET.get("t")
    scan_id = services.read_scan_token(token or "")
    if scan_id is None:
        return _page("not_found.html", {}, status=404)
    context = {"t": target, "code": code, "token": token, "errors": [], "phone": ""}
    if request.method == "POST":
        phone = (request.POST.get("phone") or "").strip()[:32]
        context["phone"] = phone
        try:
            member_id = services.identify_shopper(
                scan_id=scan_id,
                brand_id=target.brand_id,
                phone=phone,
                consent=request.POST.get("consent") == "on",
                sms=request.POST.get("sms") == "on",
            )
        except InvalidInput as exc:
            context["errors"] = [str(exc)]
            return _form_page(request, context, status=422)
        response = _page(
            "product.html",
            {**_product_context(target, code=code, token=token, member_id=member_id), "welcome": True},
        )
        response.set_signed_cookie(
            services.MEMBER_COOKIE,
            services.member_cookie_value(brand_id=target.brand_id, member_id=member_id),
            salt=services.MEMBER_COOKIE_SALT,
            max_age=_COOKIE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
        return response
    return _form_page(request, context)


def _form_page(request, context: dict, status: int = 200) -> HttpResponse:
    context.update(lang=get_language(), style=_style())
    response = render(request, "shelves/scan/identify.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


urlpatterns = [
    path("<str:code>", scan, name="scan"),
    path("<str:code>/member", identify, name="identify"),
]
