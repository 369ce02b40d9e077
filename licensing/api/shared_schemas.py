"""Shared schemas: money, answers without absent fields, pages, history lines, the shop's
check, and how the document gives a body of one of several shapes or any JSON value
(contract: Conventions). The field types they are built from are in `fields.py`."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from licensing.adapters.pagination import DEFAULT_LIMIT, MAX_LIMIT
from licensing.api.fields import NO_NUL, Domain, Instant, StrictInteger
from licensing.domain.money import CURRENCY


class MoneySchema(ma.Schema):
    """D1: integer minor units plus an ISO 4217 code; this service sells in USD."""

    amount = StrictInteger(required=True, validate=ma.validate.Range(min=0, max=10**12))
    currency = ma.fields.String(required=True, validate=ma.validate.OneOf([CURRENCY]))


class OmitNoneSchema(ma.Schema):
    """Optional fields (`edition?` in the contract) are left out rather than sent as null."""

    OPTIONAL: tuple[str, ...] = ()

    @ma.post_dump
    def _drop_absent(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {k: v for k, v in data.items() if not (k in self.OPTIONAL and v is None)}


def present(**fields: Any) -> dict[str, Any]:
    """An answer's optional fields that have a value, as `OmitNoneSchema` dumps them (for the
    hot paths' answers, written without marshmallow)."""
    return {name: value for name, value in fields.items() if value is not None}


class ShopCheckSchema(ma.Schema):
    """What a shop installation sends to validate or to get a certificate: key and domain."""

    # Not bounded like LICENSE_KEY: any text that matches no license, however long, is
    # NOT_FOUND (the body's size limit bounds it); only an empty one counts as missing.
    key = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1),
        metadata={"description": "any text; a key that matches no license is NOT_FOUND"},
    )
    domain = Domain(required=True)


class HistoryEventSchema(ma.Schema):
    """One line of an append-only history: what happened, who did it, when, with what."""

    type = ma.fields.String(required=True)
    actor = ma.fields.String(required=True)
    at = Instant(required=True)
    data = ma.fields.Dict(required=True)


class SignedLinkSchema(ma.Schema):
    """A link for people (a page), signed with SECRET_KEY, and when it stops working."""

    url = ma.fields.String(required=True)
    expires_at = Instant(required=True)


class PageArgsSchema(ma.Schema):
    limit = ma.fields.Integer(
        load_default=DEFAULT_LIMIT, validate=ma.validate.Range(min=1, max=MAX_LIMIT)
    )
    cursor = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=200),
        metadata={
            "description": "the `next_cursor` of the previous page, as given (a cursor this "
            "service did not give out, or whose row is gone, is 422 naming `cursor`)",
            "minLength": 1,
            "pattern": "^[A-Za-z0-9_-]+$",  # URL-safe base64, unpadded
        },
    )


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The contract's list shape: `{"items": [...], "next_cursor": "..."|null}`."""
    return type(
        name,
        (ma.Schema,),
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "next_cursor": ma.fields.String(allow_none=True, required=True),
        },
    )


def body_one_of(*schemas: type[ma.Schema]) -> dict[str, Any]:
    """`blp.doc` for a JSON body documented as exactly one of these schemas (by a field each
    fixes, such as an order's `kind`); the view's own schema reads it and names what is
    missing or not allowed."""
    return {"requestBody": {"content": {"application/json": {"schema": {"oneOf": list(schemas)}}}}}


# Any JSON value whose text holds no U+0000 (a component of the document, by this name).
JSON_REF = "#/components/schemas/JsonValue"
JSON_VALUE = {
    "description": "any JSON value; no text in it holds U+0000",
    "anyOf": [
        {"type": ["null", "boolean"]},
        {"type": "number", "minimum": -(10**39), "maximum": 10**39},  # json_body: 40 characters
        {"type": "string", "pattern": NO_NUL},
        {"type": "array", "items": {"$ref": JSON_REF}},
        {
            "type": "object",
            "propertyNames": {"pattern": NO_NUL},
            "additionalProperties": {"$ref": JSON_REF},
        },
    ],
}
