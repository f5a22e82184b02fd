"""Provider callbacks (mounted at /hooks/ in retail/urls.py): telephony status callbacks
and messaging delivery reports, HMAC-signed (guides.providers.signing). Thin: the services
verify, store once and apply. 401 on a bad signature (nothing changes), 200 on a repeat,
404 for a call or message we never placed. One path per provider, no `<provider>` kwarg."""

from __future__ import annotations

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..providers import messaging as messaging_providers
from ..providers import signing, telephony
from ..services import calls
from ..services import messaging as messaging_services

app_name = "guides_hooks"

MAX_BODY = 1024 * 1024


def _error(code: str, status: int) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": code.replace("_", " "), "fields": {}}}, status=status
    )


@csrf_exempt
@require_POST
def telephony_callback(request, provider_name: str):
    """A call's status callback from `provider_name`."""
    if len(request.body) > MAX_BODY:
        return _error("too_large", 413)
    try:
        result = calls.receive_callback(provider_name, request.body, request.headers)
    except signing.BadSignature:
        return _error("bad_signature", 401)
    except telephony.BadPayload:
        return _error("bad_payload", 400)
    except calls.UnknownCall:
        return _error("unknown_call", 404)
    return JsonResponse({"result": result})


@csrf_exempt
@require_POST
def messaging_callback(request, provider_name: str):
    """Delivery reports (one or a batch) from `provider_name`."""
    if len(request.body) > MAX_BODY:
        return _error("too_large", 413)
    try:
        result = messaging_services.receive_delivery_report(provider_name, request.body, request.headers)
    except signing.BadSignature:
        return _error("bad_signature", 401)
    except messaging_providers.BadPayload:
        return _error("bad_payload", 400)
    return JsonResponse(result)


urlpatterns = [
    *[
        path(
            f"telephony/{name}/",
            telephony_callback,
            {"provider_name": name},
            name=f"telephony_{name}",
        )
        for name in telephony.PROVIDERS
    ],
    *[
        path(
            f"messaging/{name}/",
            messaging_callback,
            {"provider_name": name},
            name=f"messaging_{name}",
        )
        for name in messaging_providers.PROVIDERS
    ],
]
