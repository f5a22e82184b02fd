"""The OpenAPI schema declares each operation's errors exactly (retail.api.schema): the
declared codes follow the rules, every error answer is the one error body, and probes that
provoke each kind of error get only declared codes, in that body."""

from __future__ import annotations

import json
import re
from functools import partial

import jsonschema
import pytest
from rest_framework.test import APIClient

from conftest import make_partner
from retail.api import schema as api_schema

ERROR_REF = "#/components/schemas/Error"
PROBE_ID = 987654321  # no such row


@pytest.fixture(scope="module")
def openapi(django_db_blocker):
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def operations(openapi):
    for path, methods in openapi["paths"].items():
        for method, operation in methods.items():
            if isinstance(operation, dict) and "responses" in operation:
                yield path, method, operation


def declared(operation) -> set[int]:
    return {int(code) for code in operation["responses"]}


def test_the_rule_tables_name_real_operations(openapi):
    ids = {op["operationId"] for _, _, op in operations(openapi)}
    for table in (
        api_schema.OPERATION_ERRORS,
        api_schema.NO_QUERY_CHECK,
        api_schema.NO_SCOPE_CHECK,
        api_schema.OPERATION_RESPONSES,
        api_schema.UNUSED_PARAMETERS,
    ):
        assert set(table) <= ids, sorted(set(table) - ids)


def test_every_error_answer_is_the_error_body_and_codes_follow_the_rules(openapi):
    for path, method, operation in operations(openapi):
        op_id = operation["operationId"]
        extra = api_schema.OPERATION_ERRORS.get(op_id, {})
        codes = {c for c in operation["responses"] if c >= "400"}
        where = f"{method.upper()} {path} ({op_id})"
        for code in codes:
            response = operation["responses"][code]
            assert response["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}, where
            assert "X-Request-ID" in response["headers"], where
        assert {"401", "406", "429"} <= codes, where
        assert ("403" in codes) == (op_id not in api_schema.NO_SCOPE_CHECK or "403" in extra), where
        assert "405" not in codes and not any(c.startswith("5") for c in codes), where
        assert ("400" in codes) == (op_id not in api_schema.NO_QUERY_CHECK), where
        assert ("404" in codes) == ("{" in path or "404" in extra), where
        assert ("413" in codes) == (method != "get"), where
        assert ("415" in codes) == ("requestBody" in operation), where
        for code in ("409", "422"):
            assert (code in codes) == (method == "post" or code in extra), (where, code)
        idempotency = [p for p in operation.get("parameters", []) if p.get("name") == "Idempotency-Key"]
        assert bool(idempotency) == (method == "post"), where
    error = openapi["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["required"] == ["code", "message", "fields"]


def test_the_error_schema_is_what_the_api_answers(brand):
    # the exception handler's body, the JSON 404 of unknown routes, the body-size limit
    partner = make_partner(brand)
    for response in (
        partner.get("/api/v1/orders/?nope=1"),
        partner.get("/api/v1/no-such-route/"),
        APIClient().get("/api/v1/orders/"),
    ):
        assert response.status_code >= 400
        jsonschema.validate(response.json(), api_schema.ERROR_SCHEMA)
        assert response.has_header("X-Request-ID")


def _send(client, *, method: str, url: str, **kwargs):
    return getattr(client, method)(url, **kwargs)


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(PROBE_ID), path)


@pytest.mark.django_db
def test_probes_get_only_declared_codes_in_the_error_body(openapi, brand, settings):
    """Provoke each kind of error on every operation: no token, a token without the scope,
    a format the API does not speak, an unknown query parameter, a body that is not JSON, a
    body over the limit, a malformed and a reused Idempotency-Key. Every answer must be
    declared for the operation and be the error body; the deterministic ones must be exact."""
    settings.API_MAX_BODY_BYTES = 64
    anonymous = APIClient()
    scopeless = make_partner(brand, scopes=[])
    partner = make_partner(brand)
    problems = []

    def check(what, path, method, operation, response, expected=None):
        status = response.status_code
        if status not in declared(operation) or (expected is not None and status != expected):
            problems.append((what, method.upper(), path, status, expected, response.content[:120]))
            return
        if status >= 400:
            try:
                jsonschema.validate(response.json(), api_schema.ERROR_SCHEMA)
            except (ValueError, jsonschema.ValidationError) as exc:
                problems.append((what, method.upper(), path, status, "error body", str(exc)[:120]))

    for path, method, operation in operations(openapi):
        url = _url(path)
        send = partial(_send, method=method, url=url)
        check("no token", path, method, operation, send(anonymous), 401)
        no_scope = 403 if "403" in operation["responses"] else None
        check("no scope", path, method, operation, send(scopeless), no_scope)
        check("xml", path, method, operation, send(partner, HTTP_ACCEPT="application/xml"), 406)
        check("?format=", path, method, operation, getattr(partner, method)(url + "?format=xml"), 406)
        if method == "get":
            # a list refuses it (400); a detail may look its object up first (404)
            expected = 400 if "400" in operation["responses"] and "{" not in path else None
            check("unknown query", path, method, operation, partner.get(url + "?zz_unknown=1"), expected)
            continue
        check("not JSON", path, method, operation, send(partner, data="a=b", content_type="text/plain"))
        check(
            "too big",
            path,
            method,
            operation,
            send(partner, data="x" * 100, content_type="application/json"),
            413,
        )
        if method == "post":
            bad_key = send(partner, data={}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 300)
            check("bad key", path, method, operation, bad_key, 400)
            send(partner, data={"a": 1}, format="json", HTTP_IDEMPOTENCY_KEY=f"probe-{path}")
            reused = send(partner, data={"a": 2}, format="json", HTTP_IDEMPOTENCY_KEY=f"probe-{path}")
            check("reused key", path, method, operation, reused, 422)
    assert not problems, "\n".join(map(str, problems))


def test_the_docs_are_swagger_only_served_locally(client, settings):
    # ReDoc had a setting but no route (and its template loads Google Fonts): removed; the
    # Swagger page's local assets are checked in test_api_core.
    assert "REDOC_DIST" not in settings.SPECTACULAR_SETTINGS
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/redoc/").status_code == 404
