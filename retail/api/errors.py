"""One error shape for every 4xx: {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..errors import DomainError

_CODES = {
    exceptions.ParseError: "malformed_json",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ValidationError: "invalid",
}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, str(exc.message), exc.fields), status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("payload_too_large", "Request body too large."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    request = context.get("request")
    if isinstance(exc, Http404) and request is not None and not hasattr(request, "accepted_renderer"):
        # content negotiation failed on `?format=` (DRF raises Http404 for an unknown format
        # before anything else runs): the format is not available, not the object
        exc = exceptions.NotAcceptable("Only JSON is available (`?format=json` or none).")
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, exceptions.NotFound) and str(exc.detail) == str(
        CursorPagination.invalid_cursor_message
    ):
        # a cursor the list did not hand out is bad input (400), not a missing object
        exc = exceptions.ValidationError({"cursor": ["Invalid cursor: use the `next` link of a page."]})
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real server error: let Django log it and answer 500
    code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        message = "The request has invalid fields."
        response.data = error_body(code, message, fields)
    else:
        detail = getattr(exc, "detail", "")
        if isinstance(exc, exceptions.ParseError):
            message = f"Malformed request body: {detail}"
        else:
            message = str(detail)
        if getattr(exc, "wait", None):
            message = f"{message}".strip()
        response.data = error_body(code, message)
    return response


def page_not_found(request, exception=None):
    """handler404: an unknown /api/ path answers in the error shape, any other the 404 page."""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        from .. import requestlog

        response = JsonResponse(error_body("not_found", "No such API route."), status=404)
        requestlog.record(request, response)  # with a partner token only, like every API call
        return response
    from django.views.defaults import page_not_found as html_page_not_found

    return html_page_not_found(request, exception)
