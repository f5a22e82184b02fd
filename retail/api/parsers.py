"""JSON bodies for the partner API: DRF's parser, hardened so bad input is a 400, never a 500.

Python's json module raises RecursionError (not ValueError) on deeply nested arrays, and it
happily decodes "\\u0000" and lone surrogates ("\\ud800") into strings no database can store.
"""

from __future__ import annotations

import re

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

# Only bodies that spell a NUL or a surrogate as an escape need the (slower) scan.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)
            parse_constant = json.strict_constant if self.strict else None
            data = json.loads(text, parse_constant=parse_constant)
        except ValueError as exc:  # also UnicodeDecodeError and int() digit limits
            raise ParseError(f"JSON parse error - {exc}")
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.")
        if _SUSPECT_ESCAPE.search(text):
            _refuse_unstorable_strings(data)
        return data


def _refuse_unstorable_strings(data) -> None:
    """NUL characters and unpaired surrogates cannot be stored or re-encoded as UTF-8."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                raise ParseError("JSON parse error - strings may not contain NUL characters.")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ParseError("JSON parse error - strings may not contain unpaired surrogates.")
