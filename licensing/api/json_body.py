"""Strict decoding of JSON request bodies: once per request, before any other work on it.

Python's `json` accepts two things that break later: a lone surrogate escape (`"\\ud800"`)
becomes a str that can be neither encoded nor stored, and an integer literal of over 4,300
digits raises a bare ValueError. Both are refused here as 422 naming the field, as are NaN
and Infinity (which Python reads but JSON does not have); text that is not JSON, or not
UTF-8, is 400 MALFORMED_JSON. Every JSON reader of
the API (webargs through `StrictJsonParser`) takes the decoded body from here.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

from flask import Request, current_app, g, request
from webargs import core
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from licensing.domain.errors import Invalid

# The longest number any field can need (an id, an amount, hours) is 19 digits.
MAX_NUMBER_CHARS = 40
_UNSET = object()


class _OutOfRange:
    """Stands in for a number literal too long to be a value of any field."""


class _NotANumber:
    """Stands in for NaN, Infinity and -Infinity, which Python reads but JSON does not have."""


def _number(literal: str, kind: type[int] | type[float]) -> int | float | _OutOfRange:
    if len(literal) > MAX_NUMBER_CHARS:
        return _OutOfRange()
    value = kind(literal)
    return _OutOfRange() if isinstance(value, float) and not math.isfinite(value) else value


def _malformed() -> BadRequest:
    error = BadRequest()
    error.data = {"code": "MALFORMED_JSON", "message": "The request body is not valid JSON."}
    return error


def _readable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # only a lone surrogate gets here
        return False
    return True


# U+0000 is not text either: PostgreSQL cannot store it, SQLite would; refused on both.
NUL = "\x00"
NUL_MESSAGE = "Contains a NUL character (\\u0000), which is not text."


def _unreadable(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Each field holding a value no field can take, by its dotted path (`lines.0.hours`)."""
    if isinstance(value, _OutOfRange):
        yield path, f"Is a number with more than {MAX_NUMBER_CHARS} characters."
    elif isinstance(value, _NotANumber):
        yield path, "Is NaN or Infinity, which are not JSON numbers."
    elif isinstance(value, str) and not _readable(value):
        yield path, "Contains a lone surrogate (\\ud800-\\udfff), which is not text."
    elif isinstance(value, str) and NUL in value:
        yield path, NUL_MESSAGE
    elif isinstance(value, dict):
        for name, item in value.items():
            if not _readable(name):
                yield path or "_body", "Has a field name that contains a lone surrogate."
                continue
            if NUL in name:
                yield path or "_body", "Has a field name that contains a NUL character."
                continue
            yield from _unreadable(item, f"{path}.{name}" if path else name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unreadable(item, f"{path}.{index}" if path else str(index))


# One decoder for every body: json.loads would build a decoder and its scanner per call.
_DECODER = json.JSONDecoder(
    parse_int=lambda literal: _number(literal, int),
    parse_float=lambda literal: _number(literal, float),
    parse_constant=lambda name: _NotANumber(),
)
# Where an unreadable value can come from: a lone surrogate or a NUL only as a \\u escape
# (UTF-8 cannot carry a surrogate, and JSON refuses a raw control character), NaN and
# Infinity by name, a number too long only as a run of that many number characters, and one
# beyond a float's range only with an exponent (or as such a run). A body with none of them
# holds nothing the walk would find.
_MAY_BE_UNREADABLE = re.compile(
    rb"\\u|NaN|Infinity|[0-9][eE]|[-+.0-9eE]{%d,}" % (MAX_NUMBER_CHARS + 1)
)


def decode(data: bytes) -> Any:
    """The body's value, or 400 MALFORMED_JSON, or 422 naming each unreadable field."""
    try:
        text = data.decode("utf-8")
        if text.startswith("\ufeff"):  # as json.loads: a BOM is not JSON
            raise ValueError("a byte order mark")
        value = _DECODER.decode(text)
    except (UnicodeDecodeError, ValueError):  # JSONDecodeError is a ValueError
        raise _malformed() from None
    if _MAY_BE_UNREADABLE.search(data) is None:  # the walk below would find nothing
        return value
    errors: dict[str, list[str]] = {}
    for path, message in _unreadable(value, ""):
        errors.setdefault(path or "_body", []).append(message)
    if errors:
        raise Invalid("The request body has values that cannot be read.", errors=errors)
    return value


def _whole_body() -> bytes:
    """The body, or 413: a chunked body is cut at the limit by werkzeug, never refused."""
    data = request.get_data(cache=True)
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is None and limit is not None and len(data) >= limit:
        raise RequestEntityTooLarge()
    return data


def json_body() -> Any:
    """The request's decoded JSON body (decoded once; `core.missing` when there is none)."""
    cached = g.get("json_body", _UNSET)
    if cached is _UNSET:
        data = _whole_body()
        cached = decode(data) if data and request.is_json else core.missing
        g.json_body = cached
    return cached


def decode_json_body() -> None:
    """A before-request hook: an unreadable body (or query) is refused before any view runs."""
    nul = sorted({name for name, value in request.args.items(multi=True) if NUL in value})
    if nul:
        raise Invalid(NUL_MESSAGE, errors={name: [NUL_MESSAGE] for name in nul})
    if request.is_json and request.blueprint != "api-docs":
        json_body()


class StrictJsonParser(FlaskParser):
    """webargs reading JSON through `json_body`, never through a second, laxer parse."""

    def _raw_load_json(self, req: Request) -> Any:
        return json_body()
