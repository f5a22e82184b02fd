"""The kiosk page of a screen (/shelf/<token>/...), public by capability token: the token in
the URL is the screen's secret, no login. Unknown token → 404, retired screen → 410.

- GET  /shelf/<token>/                  the full-screen page (static/js/shelves-kiosk.js);
       ?preview=1[&slot=day|night|double11] for staff who may see the screen (no heartbeats,
       framable by our own pages: the screen page embeds it); no slot: what the screen shows
       now. The slot shown comes from selectors.slot_shown, as on the real screen.
- GET  /shelf/<token>/payload.json      what the page rotates through (cached, see
                                        shelves.selectors.kiosk)
- GET  /shelf/<token>/qr/<id>.svg       a product's QR code (the scan URL), long-cached
- POST /shelf/<token>/heartbeat/        every 30 s: device online, impressions, version
- GET  /shelf/<token>/sw.js             the service worker (scope: the screen's path)

Thin: reads through shelves.selectors.kiosk, writes through shelves.services.kiosk."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import NoReverseMatch, path, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from retail import serviceworker

from ..choices import Slot
from ..selectors import kiosk as selectors
from ..services import kiosk as services
from ..services.scans import scan_code

app_name = "kiosk"

HEARTBEAT_MAX_BYTES = 32 * 1024
HEARTBEAT_SECONDS = 30  # settings.SHELF_KIOSK_HEARTBEAT_SECONDS may change it (tests: a few seconds)
QR_MAX_AGE = 7 * 24 * 3600
PREVIEW_CSP_ANCESTORS = "frame-ancestors 'self'"


def _screen(token: str, *, fresh: bool = False) -> selectors.KioskScreen:
    screen = selectors.screen_for_token(token, fresh=fresh)
    if screen is None:
        raise Http404
    return screen


def _language(request) -> str | None:
    """?lang=zh-hans / en: a TV's browser language is often not the store's, so the kiosk URL
    may name it; otherwise Accept-Language (LocaleMiddleware), else the site default."""
    lang = (request.GET.get("lang") or "").lower()
    return lang if lang in dict(settings.LANGUAGES) else None


def _render(request, template: str, context: dict, status: int = 200) -> HttpResponse:
    lang = _language(request)
    if lang is None:
        return render(request, template, context, status=status)
    with translation.override(lang):
        return render(request, template, context, status=status)


def _retired(request, screen) -> HttpResponse:
    return _render(request, "shelves/kiosk/retired.html", {"screen": screen}, status=410)


def _error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status)


def _preview_slot(request, screen) -> tuple[bool, str | None]:
    """(preview?, slot) from ?preview=1&slot=...; only for staff who may see the screen."""
    if request.GET.get("preview") != "1":
        return False, None
    if not selectors.may_preview(request.principal, screen.id):
        raise Http404
    slot = request.GET.get("slot") or None
    if slot is not None and slot not in Slot.values:
        raise Http404
    return True, slot


def _shown_label(screen: selectors.KioskScreen, slot: str | None) -> str:
    shown = selectors.slot_shown(screen, preview=slot)
    return "" if shown == slot else Slot(shown).label


def scan_path(screen: selectors.KioskScreen, product_id: int) -> str:
    code = scan_code(screen.scan_code, product_id)
    try:
        return reverse("scan:scan", kwargs={"code": code})
    except NoReverseMatch:  # the scan page's route is not wired yet
        return f"/s/{code}"


def _csp_for_preview(response) -> None:
    base = settings.CONTENT_SECURITY_POLICY
    parts = [p.strip() for p in base.split(";") if p.strip() and not p.strip().startswith("frame-ancestors")]
    response["Content-Security-Policy"] = "; ".join([*parts, PREVIEW_CSP_ANCESTORS])


@xframe_options_sameorigin
def _preview_response(request, context):
    response = _render(request, "shelves/kiosk/page.html", context)
    _csp_for_preview(response)
    return response


@require_GET
@never_cache
def kiosk_page(request, token: str):
    # read fresh (one query per page load, which is rare): a retired screen or a rotated
    # token shows at once here; the payload's cached lookup follows within SCREEN_TTL
    screen = _screen(token, fresh=True)
    if request.GET.get("preview") == "1" and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    preview, slot = _preview_slot(request, screen)
    if screen.retired:
        return _retired(request, screen)
    payload_url = reverse("kiosk:payload", kwargs={"token": token})
    if preview:
        payload_url += "?preview=1" + (f"&slot={slot}" if slot else "")
    context = {
        "screen": screen,
        "preview": preview,
        # the tab asked for (no slot: "Now") and, when it differs, the slot actually shown
        # (worked out by selectors.slot_shown, as the payload and the real screen do)
        "preview_slot": (Slot(slot).label if slot else pgettext_lazy("kiosk preview tab", "Now"))
        if preview
        else "",
        "preview_shown": _shown_label(screen, slot) if preview else "",
        "config": {
            "payload": payload_url,
            "heartbeat": "" if preview else reverse("kiosk:heartbeat", kwargs={"token": token}),
            "serviceWorker": "" if preview else reverse("kiosk:sw", kwargs={"token": token}),
            "socket": f"/ws/shelf/{token}/",
            "heartbeatSeconds": getattr(settings, "SHELF_KIOSK_HEARTBEAT_SECONDS", HEARTBEAT_SECONDS),
            "rotateSeconds": screen.rotate_seconds,
            "preview": preview,
        },
        # lazy: worded when the page renders, in the language it renders in (?lang=). Called
        # gettext_lazy by name: makemessages only extracts the names it knows (gettext_lazy,
        # _, ...), and strings marked through another alias never reached the catalogue
        "strings": {
            "onlineStock": gettext_lazy("Online: %(count)s"),
            "storeStock": gettext_lazy("In store: %(count)s"),
            "notInStore": gettext_lazy("Not stocked in this store"),
            "scanToBuy": gettext_lazy("Scan to buy"),
            "featured": gettext_lazy("Featured"),
            "nothing": gettext_lazy("Nothing to show yet"),
            "nothingHint": gettext_lazy("This screen has no catalog for now. It will update by itself."),
        },
    }
    if preview:
        return _preview_response(request, context)
    return _render(request, "shelves/kiosk/page.html", context)


@require_GET
@never_cache
def kiosk_payload(request, token: str):
    screen = _screen(token)
    preview, slot = _preview_slot(request, screen)
    if screen.retired:
        return _error("retired", _("This screen is retired."), 410)
    body = selectors.kiosk_payload(
        screen,
        slot=slot if preview else None,
        qr_url=lambda pid: reverse("kiosk:qr", kwargs={"token": token, "product_id": pid}),
        scan_url=lambda pid: request.build_absolute_uri(scan_path(screen, pid)),
        host=request.get_host() + ("+s" if request.is_secure() else ""),
    )
    return HttpResponse(body, content_type="application/json")


@require_GET
def qr_svg(request, token: str, product_id: int):
    """The QR code of a product on this screen: an SVG of the absolute scan URL. Only the
    products of the screen's catalogs; anything else (another brand's product) is a 404."""
    screen = _screen(token)
    if screen.retired:
        raise Http404
    svg = selectors.qr_code_svg(
        screen, product_id, url=request.build_absolute_uri(scan_path(screen, product_id))
    )
    if svg is None:
        raise Http404
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = f"public, max-age={QR_MAX_AGE}, immutable"
    return response


@csrf_exempt  # authenticated by the token in the URL, not by a session
@require_POST
def heartbeat(request, token: str):
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > HEARTBEAT_MAX_BYTES:
        return _error("too_large", _("The heartbeat is too large."), 413)
    raw = request.body
    if len(raw) > HEARTBEAT_MAX_BYTES:
        return _error("too_large", _("The heartbeat is too large."), 413)
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _error("invalid_json", _("The heartbeat is not valid JSON."), 400)
    if not isinstance(body, dict):
        return _error("invalid_json", _("The heartbeat must be a JSON object."), 400)
    screen = _screen(token, fresh=True)
    if screen.retired:
        return _error("retired", _("This screen is retired."), 410)
    answer = services.record_kiosk_heartbeat(screen, impressions=body.get("impressions"))
    response = JsonResponse(answer)
    response["Cache-Control"] = "no-store"
    return response


SHELL_STATIC = ("css/shelves-kiosk.css", "js/shelves-kiosk.js")


@require_GET
def service_worker(request, token: str):
    """The kiosk's service worker, served under the screen's path so its scope is the page;
    it is told what the page shell is (hashed static names in production)."""
    screen = _screen(token)
    if screen.retired:
        raise Http404
    shell = {
        "version": "kiosk-v1",
        "page": reverse("kiosk:page", kwargs={"token": token}),
        "payload": reverse("kiosk:payload", kwargs={"token": token}),
        "static": [static(name) for name in SHELL_STATIC],
    }
    response = serviceworker.worker_response("KIOSK_SHELL", shell, "js/shelves-kiosk-sw.js")
    # the worker fetches product images from their own hosts
    response["Content-Security-Policy"] = (
        "default-src 'self'; connect-src 'self' https:; img-src 'self' https: data:"
    )
    return response


urlpatterns = [
    path("<str:token>/", kiosk_page, name="page"),
    path("<str:token>/payload.json", kiosk_payload, name="payload"),
    path("<str:token>/qr/<int:product_id>.svg", qr_svg, name="qr"),
    path("<str:token>/heartbeat/", heartbeat, name="heartbeat"),
    path("<str:token>/sw.js", service_worker, name="sw"),
]
