"""Event schemas of a device type: a JSON object mapping each event type to the JSON Schema
its payload must satisfy. Checked here (jsonschema's Draft 2020-12 meta-schema) before a
type is saved, so ingestion never meets a schema it cannot use."""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_.-]{0,39}$")


def parse_event_schemas(text: str) -> dict[str, Any]:
    """The event schemas from the form's text, or a ValidationError listing every problem."""
    text = (text or "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            _("Not valid JSON: %(reason)s (line %(line)s, column %(column)s)."),
            code="invalid_json",
            params={"reason": exc.msg, "line": exc.lineno, "column": exc.colno},
        ) from exc
    check_event_schemas(value)
    return value


def check_event_schemas(value: Any) -> None:
    """Raise a ValidationError unless `value` is {event type: valid JSON Schema}."""
    if not isinstance(value, dict):
        raise ValidationError(
            _("Give a JSON object: each event type mapped to the JSON Schema of its payload."),
            code="not_object",
        )
    problems = []
    for event_type, schema in value.items():
        if not EVENT_TYPE.match(event_type):
            problems.append(
                ValidationError(
                    _(
                        "“%(type)s” is not a usable event type (lowercase letters, digits, "
                        "“_”, “.” or “-”; at most 40)."
                    ),
                    code="event_type",
                    params={"type": event_type},
                )
            )
            continue
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            where = "/".join(str(p) for p in exc.path) or "/"
            problems.append(
                ValidationError(
                    _("The schema of “%(type)s” is not a valid JSON Schema at %(where)s: %(reason)s"),
                    code="invalid_schema",
                    params={"type": event_type, "where": where, "reason": exc.message},
                )
            )
    if problems:
        raise ValidationError(problems)
