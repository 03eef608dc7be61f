"""The API's JSON parser: strict UTF-8, bounded nesting, no control characters in text.

DRF's own parser let a body nested 1,000 levels deep reach the serializers (RecursionError:
500), decoded invalid UTF-8 leniently, and passed "\\u0000" through to PostgreSQL (which
refuses NUL: 500). Here each of those is a 400 in the one error shape, naming the place.
"""

from __future__ import annotations

import json

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.parsers import JSONParser

from core.validators import first_control_character

# Deeper than any registry body (a plan is about 6 levels): refused before a serializer sees it.
MAX_DEPTH = 32


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(
                _("The body is not valid UTF-8 (byte %(byte)s).") % {"byte": exc.start + 1}
            ) from None
        try:
            data = json.loads(text)
        except RecursionError:
            raise exceptions.ParseError(
                _("JSON nested deeper than %(depth)s levels.") % {"depth": MAX_DEPTH}
            ) from None
        except ValueError as exc:
            raise exceptions.ParseError(
                _("JSON parse error - %(error)s") % {"error": exc}
            ) from None
        check_json(data)
        return data


def check_json(data) -> None:
    """Depth and text rules over a parsed body, iteratively (a deep body cannot recurse here)."""
    stack = [(data, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise exceptions.ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.")
        if isinstance(value, dict):
            for key, item in value.items():
                # A bad key is reported at its parent: the key itself is not echoed back.
                _check_text(key, path or "__all__")
                stack.append((item, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                stack.append((item, f"{path}.{index}" if path else str(index), depth + 1))
        elif isinstance(value, str):
            _check_text(value, path or "__all__")


def _check_text(text: str, field: str) -> None:
    where = first_control_character(text)
    if where:
        message = _("Control characters are not allowed in text (found %(where)s).") % {
            "where": where
        }
        raise exceptions.ValidationError({field: [message]})
