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


# --- the error responses, operation by operation ----------------------------------------------
#
# Each operation declares the error statuses it can really give, and only those (schemathesis
# fails an undocumented status: tests/test_api_fuzz.py). Where they come from:
#
# - every operation: 401 (BearerTokenAuthentication), 403 (HasScope; not for NO_SCOPE_CHECK), 406 (content
#   negotiation: JSON only; an `Accept` without JSON or `?format=` other than json) and 429
#   (TokenRateThrottle). DRF runs all four before any view code.
# - 400: every operation but the GETs in NO_QUERY_CHECK, which read no input at all: a body
#   or an Idempotency-Key can be invalid, and viewsets refuse unknown query parameters
#   (StrictFilterBackend, on lists and on every `get_object()` lookup).
# - 404: operations with a path parameter (the object, or another brand's) and the ones in
#   OPERATION_ERRORS that look an object up from the body.
# - 413: every write (ApiBodySizeLimitMiddleware refuses a body over API_MAX_BODY_BYTES);
#   415: only operations that read a body (DRF parses it on first use of `request.data`).
# - 409 and 422: every POST (idempotency: `request_in_progress` 409, `idempotency_key_reused`
#   422), and the PATCHes listed in OPERATION_ERRORS whose services raise a Conflict (409) or
#   a DomainError (422). Reasons per operation are in OPERATION_ERRORS, from the raise sites.
# - 405: nowhere: a method not in the schema is a 405 for every path (`OPTIONS` included).
#   5xx: nowhere: bad input never produces one.

ERROR_SCHEMA = {
    "type": "object",
    "description": 'Every error answer: `{"error": {"code", "message", "fields"}}`; the '
    "`X-Request-ID` header names the request in Tiandi's logs.",
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
                    "description": "Per-field problems of a 400 (field → messages); `{}` otherwise.",
                },
            },
            "required": ["code", "message", "fields"],
            "additionalProperties": False,
        }
    },
    "required": ["error"],
    "additionalProperties": False,
}

GENERIC = {
    "400": "Invalid input (`invalid` with `fields`, `malformed_json`, `invalid_idempotency_key`); "
    "nothing was changed.",
    "401": "`not_authenticated` (no token) or `authentication_failed` (an unknown, expired or "
    "revoked token, or a disabled API client).",
    "403": "`permission_denied`: the token lacks the scope for this operation.",
    "404": "`not_found`: no such object in the token's brand (another brand's object is not found either).",
    "406": "`not_acceptable`: the API answers JSON only (`Accept` without `application/json`, "
    "or `?format=` other than `json`).",
    "409": "Conflicts with the current state: `request_in_progress` (the first request with "
    "this Idempotency-Key is still running; retry).",
    "413": "`payload_too_large`: the body is over API_MAX_BODY_BYTES (1 MiB by default).",
    "415": "`unsupported_media_type`: the body is not `application/json`.",
    "422": "Refused by a business rule: `idempotency_key_reused` (this Idempotency-Key came "
    "with another request).",
    "429": "`throttled`: too many requests for this API client; wait `Retry-After` seconds.",
}

# GETs that read no query parameter at all (no filter backend, no get_object()): never a 400.
NO_QUERY_CHECK = {
    "ping_retrieve": "PingView reads nothing but the token.",
    "backflow_scorecard_retrieve": "BackflowScorecardView reads nothing but the token.",
    "devices_commands_retrieve": "The command queue looks the device up by id only.",
    "coupons_retrieve": "The code is the only input; an unknown one is 404 `coupon_not_found`.",
}

# Operations any valid partner token may call (no scope to lack): never a 403.
NO_SCOPE_CHECK = {
    "ping_retrieve": "PingView names no scope resource: it answers every partner token.",
}

# Per operation: statuses beyond the rules above, or more reasons for one they give, from the
# raise sites of the operation's view and services (`grep -n "Conflict(\|status=4"`).
OPERATION_ERRORS: dict[str, dict[str, str]] = {
    "stores_create": {"409": "`duplicate_code`: the brand has a store with this code."},
    "stores_partial_update": {"409": "`duplicate_code`: the brand has a store with this code."},
    "products_create": {"409": "`duplicate_sku`: the brand has a product with this SKU."},
    "products_partial_update": {"409": "`duplicate_sku`: the brand has a product with this SKU."},
    "orders_create": {"409": "`duplicate_external_id`: an order with this external id exists."},
    "members_create": {"409": "`duplicate_phone` / `duplicate_external_id`: a member of the brand has it."},
    "members_partial_update": {
        "409": "`duplicate_member`: another member of the brand has this phone or external id."
    },
    "members_points_create": {"409": "`insufficient_points`: the balance is too low to spend."},
    "tags_create": {"409": "`duplicate_tag`: the brand has a tag with this name."},
    "campaigns_create": {"409": "`duplicate_name`: the brand has a campaign with this name."},
    "campaigns_partial_update": {
        "409": "`duplicate_name`; `ended` (an ended campaign); `not_draft` (stores or phases of "
        "a published campaign)."
    },
    "coupons_claim_create": {
        "403": "`tier_not_eligible`: the member's tier may not claim this coupon.",
        "409": "`sold_out`, `limit_reached`.",
        "422": "`template_inactive`, `campaign_not_live`, `template_expired`.",
    },
    "coupons_retrieve": {"429": "`rate_limited`: too many unknown codes from this token."},
    "coupons_redeem_create": {
        "403": "`tier_not_eligible`.",
        "404": "`coupon_not_found`: an unknown code, another brand's or another member's.",
        "409": "`already_redeemed`.",
        "422": "`coupon_expired`, `coupon_not_yet_valid`, `wrong_channel`, `wrong_store`, "
        "`threshold_not_met`, `coupon_void`.",
        "429": "`rate_limited`: too many unknown codes from this token or at this store.",
    },
    "shelf_catalogs_create": {"409": "`duplicate_name`: the brand has a catalog with this name."},
    "shelf_catalogs_partial_update": {
        "409": "`archived` (an archived catalog no longer changes); `duplicate_name`."
    },
    "shelf_screens_create": {"409": "`duplicate_name`; `no_scan_code` (retry)."},
    "shelf_screens_partial_update": {
        "409": "`retired` (a retired screen no longer changes); `duplicate_name`."
    },
    "guide_interactions_create": {
        "404": "`not_found`: an unknown member (or another brand's).",
        "422": "`future` (more than 5 minutes ahead), `task_member`.",
    },
    "guide_tasks_partial_update": {"409": "`task_closed`: the task is cancelled (or done, to snooze)."},
    "devices_events_create": {
        "403": "`device_retired`; or a partner token (only the device itself sends its events).",
        "413": "`batch_too_large`: over 1,000 events.",
    },
    "spaces_occupancy_create": {"409": "`inactive`: the space is out of use."},
}

_IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "1 to 255 printable ASCII characters. A repeat with the same key and body "
    "returns the first answer (`Idempotent-Replayed: true`).",
}

_REQUEST_ID_HEADER = {
    "X-Request-ID": {
        "schema": {"type": "string"},
        "description": "The request's id (the caller's `X-Request-ID`, or a new one).",
    }
}

WRITE_METHODS = {"post", "put", "patch", "delete"}

# Response fields whose generated schema is narrower than what the API answers (read-only
# model fields: drf-spectacular sees the choices, not `blank=True` / `null=True`). Found by
# the fuzzer's checked 2xx bodies (tests/test_api_fuzz.py seeds one of every resource).
#   "blank": the enum also admits "" (the field is not set);  "nullable": null is an answer.
RESPONSE_FIELDS: dict[tuple[str, str], str] = {
    ("Campaign", "current_phase"): "blank",  # no phase has started yet
    ("Interaction", "call_status"): "blank",  # not a masked call
    ("Interaction", "outcome"): "blank",
    ("Interaction", "next_step"): "blank",
    ("Segment", "channel"): "blank",  # a segment for no channel in particular
    ("Member", "tier"): "nullable",  # a member below the lowest tier
}

# Components whose properties are all optional: the object holds only what is known.
OPTIONAL_PROPERTIES = {
    "Attribution": "Empty when the order had no attribution token; otherwise what it resolved to.",
}

# Operations whose 2xx body is not the serializer drf-spectacular inferred (plain APIViews
# without a response declaration), by operationId: (status, schema).
OPERATION_RESPONSES: dict[str, tuple[str, dict]] = {
    "devices_commands_retrieve": (
        "200",
        {
            "type": "object",
            "properties": {
                "results": {"type": "array", "items": {"$ref": "#/components/schemas/DeviceCommand"}}
            },
            "required": ["results"],
        },
    ),
}


# Query parameters drf-spectacular adds to a list-like action that does not use them, by
# operationId (the StrictFilterBackend lets `cursor` / `page_size` through everywhere, so an
# undeclared one is simply unused): a member's tags come in one page.
UNUSED_PARAMETERS: dict[str, set[str]] = {
    "members_tags_list": {"cursor", "page_size"},
    "members_tags_create": {"cursor", "page_size"},
}
_TAGS = {
    "type": "object",
    "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/Tag"}}},
    "required": ["results"],
}
OPERATION_RESPONSES["members_tags_list"] = ("200", _TAGS)
OPERATION_RESPONSES["members_tags_create"] = ("200", _TAGS)


def _widen_response_fields(components: dict) -> None:
    for (component, name), how in RESPONSE_FIELDS.items():
        field = components.get(component, {}).get("properties", {}).get(name)
        if field is None:
            raise KeyError(f"RESPONSE_FIELDS: {component}.{name} is not in the schema")
        if how == "nullable":
            field["nullable"] = True
        else:  # "blank"
            refs = field.pop("allOf", None) or [
                {k: field.pop(k) for k in ("$ref", "enum", "type") if k in field}
            ]
            field["anyOf"] = [*refs, {"type": "string", "enum": [""]}]
    for component, description in OPTIONAL_PROPERTIES.items():
        components[component].pop("required", None)
        components[component]["description"] = description


def error_codes_for(path: str, method: str, operation: dict) -> dict[str, str]:
    """The error statuses of one operation, each with its description (see the rules above)."""
    op_id = operation.get("operationId", "")
    has_body = "requestBody" in operation
    codes = {
        code: GENERIC[code]
        for code in ("401", "403", "406", "429")
        if code != "403" or op_id not in NO_SCOPE_CHECK
    }
    if op_id not in NO_QUERY_CHECK:
        codes["400"] = GENERIC["400"]
    if "{" in path:
        codes["404"] = GENERIC["404"]
    if method in WRITE_METHODS:
        codes["413"] = GENERIC["413"]
    if has_body:
        codes["415"] = GENERIC["415"]
    if method == "post":
        codes["409"] = GENERIC["409"]
        codes["422"] = GENERIC["422"]
    for code, reason in OPERATION_ERRORS.get(op_id, {}).items():
        codes[code] = f"{codes[code]} Also {reason}" if code in codes else reason
    return dict(sorted(codes.items()))


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: the error shape, the error answers of every
    operation (error_codes_for) and the Idempotency-Key header of every POST."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    _widen_response_fields(components)
    ref = {"$ref": "#/components/schemas/Error"}
    for path, methods in result.get("paths", {}).items():
        for method, operation in methods.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            unused = UNUSED_PARAMETERS.get(operation.get("operationId"), set())
            if unused:
                operation["parameters"] = [
                    p
                    for p in operation.get("parameters", [])
                    if not (p.get("in") == "query" and p.get("name") in unused)
                ]
            if operation.get("operationId") in OPERATION_RESPONSES:
                status, body = OPERATION_RESPONSES[operation["operationId"]]
                responses[status]["content"] = {"application/json": {"schema": body}}
            for code, description in error_codes_for(path, method, operation).items():
                if code in responses:
                    continue
                entry = {
                    "description": description,
                    "content": {"application/json": {"schema": ref}},
                    "headers": dict(_REQUEST_ID_HEADER),
                }
                if code == "429":
                    entry["headers"]["Retry-After"] = {
                        "schema": {"type": "integer"},
                        "description": "Seconds.",
                    }
                responses[code] = entry
            if method == "post":
                params = operation.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in params if isinstance(p, dict)):
                    params.append(dict(_IDEMPOTENCY_PARAMETER))
    return result
