"""Public pages of the workbench: a guide's share link (/g/<code>/, `guides:share_open`).

An open counts one click (a conditional UPDATE on the link and a ShareClick row) and shows a
small phone page for the product (image, name, price) or the content (title, text, image)
with a "buy online" / "read" button carrying the link's attribution token ("gl.<code>").
An unknown or turned-off code is a clear 404 page. HEAD requests and link previews
(`Purpose: prefetch`, chat apps' unfurlers) are not counted, like the shelves' scan page."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import HttpResponse, HttpResponseNotAllowed
from django.template import loader
from django.urls import path

from retail import audit, throttle
from shelves.selectors import shelf_settings

from ..services import sharing as services

CLICKS_PER_HOUR = 10


def _is_prefetch(request) -> bool:
    purpose = request.headers.get("Sec-Purpose") or request.headers.get("Purpose") or ""
    return "prefetch" in purpose.lower() or "preview" in purpose.lower()


def _page(request, template: str, context: dict, status: int = 200) -> HttpResponse:
    body = loader.render_to_string(f"guides/sharing/{template}", context, request=request)
    response = HttpResponse(body, status=status)
    response["Cache-Control"] = "no-store"  # every open must reach us to be counted
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"  # the token is in the button's link
    return response


def share_open(request, code: str):
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    if request.method == "HEAD" or _is_prefetch(request):
        # answered without counting; a prefetch gets a 503 a browser never reuses, so the
        # real open is counted once
        if services.link_by_code(code) is None:
            return _page(request, "not_found.html", {}, status=404)
        return _page(request, "not_found.html", {}, status=200 if request.method == "HEAD" else 503)
    referrer = urlsplit(request.headers.get("Referer", "")).hostname or ""
    ip = audit.current_context().remote_addr or request.META.get("REMOTE_ADDR") or "unknown"
    # one client reloading (or a bot) counts at most CLICKS_PER_HOUR clicks per link
    counted = throttle.hit(f"throttle:share:{code[:24]}:{ip}", CLICKS_PER_HOUR)
    link = services.open_link(code, referrer_host=referrer, count=counted)
    if link is None:
        return _page(request, "not_found.html", {}, status=404)
    template = shelf_settings(brand_id=link.brand_id).buy_url_template if link.product_id else ""
    return _page(
        request,
        "landing.html",
        {
            "link": link,
            "product": link.product,
            "content": link.content,
            "brand": link.brand,
            "token": services.token_for(link.code),
            "target_url": services.target_url(link, buy_url_template=template),
        },
    )


urlpatterns = [
    path("<str:code>/", share_open, name="share_open"),
]
