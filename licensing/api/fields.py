"""Shared field types and their patterns: instants, strict integers and ids, trimmed text,
domains, editions, versions, URLs (contract: Conventions). The schemas the blueprints share
are in `shared_schemas.py`."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma

from licensing.domain.periods import rfc3339_or_none

EARLIEST_YEAR, LATEST_YEAR = 1970, 2999
OUT_OF_RANGE = f"An instant must fall between the years {EARLIEST_YEAR} and {LATEST_YEAR}."


class Pattern(ma.validate.Regexp):
    """A regular expression the whole value must match, published as the field's `pattern`.

    Written for both readers: ECMA-262 (the OpenAPI document's dialect) and Python, which
    applies it with `fullmatch` (so `$` cannot accept a trailing newline as `match` would)."""

    def __call__(self, value: str) -> str:
        if not isinstance(value, str) or self.regex.fullmatch(value) is None:
            raise ma.ValidationError(self._format_error(value))
        return value


# RFC 3339 as the service reads it: upper-case `T` and `Z` (or an offset), seconds always,
# no leap second; any number of years is only the *shape* (the range is checked apart).
_OFFSET = r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
_TIME = rf"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{{1,9}})?{_OFFSET}$"
_DATE = r"-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
INSTANT_SHAPE = re.compile(rf"^[0-9]{{4}}{_DATE}{_TIME}")
# What a request may carry: the shape, with a year from 1970 to 2999 as written. Far enough
# for any license, and the calendar arithmetic on it (+1 year, +1 month) stays inside what
# Python's datetime holds; its offset may move it an hour or so past either end in UTC.
INSTANT_PATTERN = rf"^(19[7-9][0-9]|2[0-9]{{3}}){_DATE}{_TIME}"
INSTANT_RULE = (
    "an RFC 3339 instant such as 2026-11-24T10:00:00Z (an offset such as +03:00 instead of Z "
    f"is read as UTC), in the years {EARLIEST_YEAR} to {LATEST_YEAR}"
)


class Instant(ma.fields.AwareDateTime):
    """An RFC 3339 UTC instant: `2026-11-24T10:00:00Z` out; any explicit offset in, as UTC.

    Every one read is checked against the request pattern (years 1970 to 2999 as written).
    The document gives that pattern where `request=True` (the field of a request); an answer's
    instant has the same shape with any year, since one computed from a request's (a year
    later, or in UTC from 2999-12-31T23:00:00-05:00) may fall past 2999."""

    def __init__(self, *, request: bool = False, **kwargs: Any) -> None:
        metadata = dict(kwargs.pop("metadata", {}))
        metadata["pattern"] = INSTANT_PATTERN if request else INSTANT_SHAPE.pattern
        if request:
            description = metadata.get("description")
            metadata["description"] = (
                f"{description}; {INSTANT_RULE}"
                if description
                else (INSTANT_RULE[0].upper() + INSTANT_RULE[1:])
            )
        super().__init__(format="iso", metadata=metadata, **kwargs)

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any):
        return rfc3339_or_none(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str) or INSTANT_SHAPE.fullmatch(value) is None:
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        if not EARLIEST_YEAR <= int(value[:4]) <= LATEST_YEAR:
            raise ma.ValidationError(OUT_OF_RANGE)
        return super()._deserialize(value, attr, data, **kwargs).astimezone(UTC)


class StrictInteger(ma.fields.Integer):
    """A JSON integer: no strings, booleans or fractions. `3.0` is the integer 3, as JSON
    Schema's `"type": "integer"` says (JSON has one kind of number)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return super()._validated(value)


class Id(StrictInteger):
    """A resource id: a positive integer that fits the database's BIGINT."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", ma.validate.Range(min=1, max=2**63 - 1))
        super().__init__(**kwargs)


class QueryId(ma.fields.Integer):
    """A resource id in a query string (text there, so not strict), 1 to BIGINT's largest."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", ma.validate.Range(min=1, max=2**63 - 1))
        super().__init__(**kwargs)


# The characters Python's str.strip() removes (str.isspace), which ECMA-262's \s does not
# quite match: text must have one character outside them.
WHITE_SPACE = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Text never holds U+0000 (licensing/api/json_body.py refuses it: PostgreSQL cannot store it).
NO_NUL = "^[^\\u0000]*$"


def text_without_nul(self: Any, field: ma.fields.Field, ret: dict[str, Any], **kwargs: Any) -> dict:
    """apispec: a string the document leaves otherwise open is still text without U+0000."""
    types = ret.get("type") or []
    string = "string" in (types if isinstance(types, list) else [types])
    if string and not {"pattern", "enum", "format"} & ret.keys():
        return {"pattern": NO_NUL}
    return {}


# Control characters (Unicode category Cc): never inside a name that reaches a mail header.
CONTROL = "\\u0000-\\u001f\\u007f-\\u009f"


def trimmed_text(max_length: int, *, refused: str = "\\u0000") -> str:
    """The pattern of text that has 1 to `max_length` characters once trimmed (str.strip),
    with any white space around them, and none of `refused` inside them (U+0000 never)."""
    core = f"[^{refused}{WHITE_SPACE}]"
    inner = f"[^{refused}]{{0,{max_length - 2}}}"
    return f"^[{WHITE_SPACE}]*{core}(?:{inner}{core})?[{WHITE_SPACE}]*$"


class Text(ma.fields.String):
    """Text with surrounding white space removed; text that is only white space is missing.

    Its length is counted once trimmed, which `maxLength` (counting all) cannot say: the
    document gives the whole rule as a pattern instead."""

    def __init__(self, *, max_length: int, one_line: bool = False, **kwargs: Any) -> None:
        length = ma.validate.Length(min=1, max=max_length)
        checks = [length, _one_line] if one_line else [length]
        # A lambda, not the Length itself: apispec would read it as maxLength (counting all).
        kwargs.setdefault("validate", lambda trimmed: [check(trimmed) for check in checks])
        extra = ", no control characters (CR, LF, TAB, ...)" if one_line else ""
        kwargs["metadata"] = {
            "pattern": trimmed_text(max_length, refused=CONTROL if one_line else "\\u0000"),
            "description": f"1 to {max_length} characters once trimmed{extra}",
            **kwargs.get("metadata", {}),
        }
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip()


def _one_line(trimmed: str) -> None:
    """A name goes into email headers and text: no CR, LF, TAB or other control character."""
    if any(unicodedata.category(c) == "Cc" for c in trimmed):
        raise ma.ValidationError("Must be one line, without control characters (CR, LF, TAB).")


class EmailAddress(ma.fields.Email):
    """An email address; white space around it is dropped before it is checked, as D24
    compares addresses trimmed (and case-insensitively, which the service sees to)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, str):
            value = value.strip()
        return super()._deserialize(value, attr, data, **kwargs)


# D3's shape for the document: dotted labels of letters, digits and inner hyphens (never
# `--` third and fourth, which IDNA keeps for xn-- labels), a last label that starts with a
# letter and is not `localhost`, at most 253 characters. D3 itself (licensing/domain/domains.py)
# is the rule: it also takes upper case, a URL (reduced to its host), internationalized names
# and a trailing dot, and refuses anything else with 422 DOMAIN_INVALID naming the field.
_LABEL = r"(?![A-Za-z0-9-]{2}--)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP_LABEL = r"(?![A-Za-z0-9-]{2}--)(?!localhost$)[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DOMAIN_PATTERN = rf"^(?:{_LABEL}\.)+{_TOP_LABEL}$"
DOMAIN_RULE = (
    "D3: a public domain name such as shop.example.com (at least two labels, the last one "
    "not numeric, no IP address, no localhost); upper case, a trailing dot, an "
    "internationalized name or a URL (reduced to its host) are accepted too and normalized. "
    "The pattern is the common case; 422 DOMAIN_INVALID names the field for anything D3 refuses"
)


class Domain(ma.fields.String):
    """A site's domain as a caller writes it; D3 normalizes or refuses it in the services."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", ma.validate.Length(min=1, max=2000))
        metadata = {"pattern": DOMAIN_PATTERN, "maxLength": 253, "description": DOMAIN_RULE}
        super().__init__(metadata={**metadata, **kwargs.pop("metadata", {})}, **kwargs)


# The editions the data migration creates; the catalog has no route that adds one, so the
# document lists them. The services stay the rule: 422 EDITION_NOT_FOUND for any other code.
EDITION_CODES = ("pro", "premium")


class EditionCode(ma.fields.String):
    """An edition's code, as `GET /v1/editions` lists them."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", ma.validate.Length(min=1, max=16))
        metadata = {"enum": list(EDITION_CODES)}
        super().__init__(metadata={**metadata, **kwargs.pop("metadata", {})}, **kwargs)


# A license key as a caller sends it: any text, looked up as it is (NOT_FOUND when no
# license has it), bounded so that no lookup reads a megabyte.
LICENSE_KEY = ma.validate.Length(min=1, max=100)


# A published release's version (R10): 5.2 or 5.2.1, optionally with a suffix such as -rc1.
VERSION_PATTERN = r"^[0-9]+(\.[0-9]+){0,3}([-+][0-9A-Za-z.-]{1,20})?$"


# An http(s) URL as the document gives it: a host name with a letter TLD (or, `local=True`,
# also one label or an IPv4 address), an optional port, an optional path, query or fragment
# without spaces. marshmallow's URL validator is the rule; it takes a little more (a user
# and password, IPv6, letters beyond ASCII) and refuses anything else with 422.
_URL_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_URL_REST = r"(?::[0-9]{1,5})?(?:/|[/?#][!-~]+)?$"
URL_PATTERN = rf"^https?://(?:{_URL_LABEL}\.)+[A-Za-z]{{2,6}}{_URL_REST}"
LOCAL_URL_PATTERN = (
    rf"^https?://(?:(?:{_URL_LABEL}\.)+[A-Za-z]{{2,6}}|{_URL_LABEL}"
    rf"|[0-9]{{1,3}}(?:\.[0-9]{{1,3}}){{3}}){_URL_REST}"
)


def http_url(*, local: bool = False, **kwargs: Any) -> ma.fields.Url:
    """An http or https URL of at most 2,000 characters; `local` allows one-label hosts and
    IPv4 addresses (a subscriber on the same network)."""
    metadata = {
        "format": "uri",
        "pattern": LOCAL_URL_PATTERN if local else URL_PATTERN,
        "description": "an http(s) URL",
        **kwargs.pop("metadata", {}),
    }
    return ma.fields.Url(
        schemes={"http", "https"},
        require_tld=not local,
        validate=ma.validate.Length(max=2000),
        metadata=metadata,
        **kwargs,
    )
