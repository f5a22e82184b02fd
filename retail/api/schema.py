"""OpenAPI: describe the bearer-token authentication to drf-spectacular."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "retail.api.auth.BearerTokenAuthentication"
    name = "bearer"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A partner token `tdk_<prefix>_<secret>` of one brand, with named scopes.",
        }


# --- the error responses every operation can give -----------------------------------------------

ERROR_SCHEMA = {
    "type": "object",
    "description": 'Every 4xx: `{"error": {"code", "message", "fields"}}`.',
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {
                    "type": "string",
                    "description": "Stable, for programs (e.g. `invalid`, `not_found`).",
                },
                "message": {"type": "string", "description": "For people."},
                "fields": {
                    "type": "object",
                    "additionalProperties": True,
                    "description": "Per-field problems of a 400 (field → messages).",
                },
            },
            "required": ["code", "message", "fields"],
        }
    },
    "required": ["error"],
}

_ERRORS = {
    "400": "Invalid input (malformed JSON, unknown or invalid fields); nothing was changed.",
    "401": "No token, an unknown, expired or revoked token.",
    "403": "The token lacks the scope for this operation.",
    "404": "No such object in the token's brand (another brand's object is not found either).",
    "405": "The method is not allowed on this path.",
    "406": "The requested response format is not available.",
    "409": "Conflicts with the current state (e.g. a duplicate external id).",
    "413": "The body is larger than allowed.",
    "415": "The body is not JSON.",
    "422": "The Idempotency-Key was used before with another body.",
    "429": "Too many requests: wait for `Retry-After` seconds.",
}


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: document the error shape and the 4xx answers of
    every operation (the API never answers bad input with a 5xx), and Idempotency-Key."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for methods in result.get("paths", {}).values():
        for method, operation in methods.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for code, description in _ERRORS.items():
                if code in responses:
                    continue
                entry = {"description": description, "content": {"application/json": {"schema": ref}}}
                if code == "429":
                    entry["headers"] = {
                        "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}
                    }
                responses[code] = entry
            if method == "post":
                params = operation.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in params if isinstance(p, dict)):
                    params.append(
                        {
                            "in": "header",
                            "name": "Idempotency-Key",
                            "required": False,
                            "schema": {"type": "string", "maxLength": 255},
                            "description": "A repeat with the same key returns the first answer.",
                        }
                    )
    return result
