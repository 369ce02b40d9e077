"""Shared schema pieces: instants, money, strict integers, pages (contract: Conventions)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma

from licensing.adapters.pagination import DEFAULT_LIMIT, MAX_LIMIT
from licensing.domain.money import CURRENCY
from licensing.domain.periods import rfc3339

EARLIEST_YEAR, LATEST_YEAR = 1970, 2999
OUT_OF_RANGE = f"an instant between the years {EARLIEST_YEAR} and {LATEST_YEAR}"


class Instant(ma.fields.AwareDateTime):
    """An RFC 3339 UTC instant: `2026-11-24T10:00:00Z` out; any explicit offset in, as UTC."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any):
        return None if value is None else rfc3339(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        instant = super()._deserialize(value, attr, data, **kwargs)
        try:
            instant = instant.astimezone(UTC)
        except OverflowError:
            raise ma.ValidationError(OUT_OF_RANGE) from None
        # Far enough for any license; and the year arithmetic on it (+1 year, +1 month) stays
        # inside what Python's datetime can hold.
        if not EARLIEST_YEAR <= instant.year <= LATEST_YEAR:
            raise ma.ValidationError(OUT_OF_RANGE)
        return instant


class StrictInteger(ma.fields.Integer):
    """A JSON integer: no strings, floats or booleans."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid", input=value)
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


class PageArgsSchema(ma.Schema):
    limit = ma.fields.Integer(
        load_default=DEFAULT_LIMIT, validate=ma.validate.Range(min=1, max=MAX_LIMIT)
    )
    cursor = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200))


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


class SignedLinkSchema(ma.Schema):
    """A link for people (a page), signed with SECRET_KEY, and when it stops working."""

    url = ma.fields.String(required=True)
    expires_at = Instant(required=True)


class Text(ma.fields.String):
    """Text with surrounding white space removed; text that is only white space is missing."""

    def __init__(self, *, max_length: int, **kwargs: Any) -> None:
        kwargs.setdefault("validate", ma.validate.Length(min=1, max=max_length))
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip()


class HistoryEventSchema(ma.Schema):
    """One line of an append-only history: what happened, who did it, when, with what."""

    type = ma.fields.String(required=True)
    actor = ma.fields.String(required=True)
    at = Instant(required=True)
    data = ma.fields.Dict(required=True)
