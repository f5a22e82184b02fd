"""Request plumbing: request ids and audit context, the API body limit, the principal."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.http import JsonResponse
from django.urls import is_valid_path
from django.utils.functional import SimpleLazyObject

from . import audit
from .tenancy import ANONYMOUS


class RequestIdMiddleware:
    """Give every request an id (or keep the caller's X-Request-ID) for logs and audit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        request.request_id = rid
        token = audit.set_context(audit.RequestContext(request_id=rid, remote_addr=_client_ip(request)))
        try:
            response = self.get_response(request)
        finally:
            audit.reset_context(token)
        response["X-Request-ID"] = rid
        return response


def _client_ip(request) -> str | None:
    # Behind the proxy the first X-Forwarded-For hop is the client (trusted proxy only).
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and settings.TRUST_X_FORWARDED_FOR:
        return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


class ApiBodySizeLimitMiddleware:
    """Refuse oversize API bodies with 413 before anything reads them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.API_MAX_BODY_BYTES:
                response = JsonResponse(
                    {
                        "error": {
                            "code": "payload_too_large",
                            "message": f"Request body exceeds {settings.API_MAX_BODY_BYTES} bytes.",
                            "fields": {},
                        }
                    },
                    status=413,
                )
                from . import requestlog

                requestlog.record(request, response)  # a partner sees its refused uploads too
                return response
        return self.get_response(request)


class ApiTrailingSlashMiddleware:
    """`POST /api/v1/orders` is served as `/api/v1/orders/`: APPEND_SLASH cannot redirect a
    POST without losing its body, so API paths get the slash added in place instead. An
    unknown API route answers in the error shape under DEBUG too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith("/api/") and not path.endswith("/"):
            urlconf = getattr(request, "urlconf", None)
            if not is_valid_path(path, urlconf) and is_valid_path(f"{path}/", urlconf):
                request.path_info = f"{path}/"
                request.path = f"{request.path}/"
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            and path.startswith("/api/")
            and "json" not in response.get("Content-Type", "")
        ):
            # DEBUG answers an unknown route with its HTML page, not handler404: a partner
            # developing against a local server gets the API's error shape all the same
            from .api.errors import page_not_found

            return page_not_found(request)
        return response


class ContentSecurityPolicyMiddleware:
    """Our pages run no inline script: scripts only from our own static files. Django
    admin and the Swagger UI page (both third-party templates with inline scripts) are
    left out. Styles allow inline attributes, which htmx and ECharts set."""

    EXEMPT = ("/admin/", "/api/docs/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith(self.EXEMPT) and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY
        return response


class PrincipalMiddleware:
    """`request.principal`: what the logged-in user may see, in their active role."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.principal = SimpleLazyObject(lambda: _principal(request))
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            from .views_console import partner_user_gate

            partner_user_gate(request)  # a partner user reaches its own console only (403)
            ctx = audit.current_context()
            token = audit.set_context(
                audit.RequestContext(
                    request_id=ctx.request_id,
                    remote_addr=ctx.remote_addr,
                    user_id=user.pk,
                    actor_label=user.get_username(),
                )
            )
            try:
                return self.get_response(request)
            finally:
                audit.reset_context(token)
        return self.get_response(request)


def _principal(request):
    from .selectors import principal_for_user, roles_for_user

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ANONYMOUS
    # kept for the page's role switch (retail.context_processors), read once per request
    request.staff_roles = roles_for_user(user=user)
    return principal_for_user(
        user=user, role_id=request.session.get("active_role_id"), roles=request.staff_roles
    )
