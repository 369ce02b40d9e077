"""Keyset pagination with an opaque cursor (contract: `limit`, `cursor`, `next_cursor`)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from licensing.domain.errors import Invalid
from licensing.extensions import db

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_ID = 2**63 - 1  # BIGINT


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor points after; 422 naming `cursor` when it was not made by us."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, _, last_id = raw.partition(":")
        if version != "v1" or not last_id.isdigit() or int(last_id) > MAX_ID:
            raise ValueError(raw)
        return int(last_id)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise Invalid.field("cursor", "This cursor was not given out by this service.") from None


def paginate(
    stmt: Select[Any],
    *,
    id_column: InstrumentedAttribute[int],
    sort_column: InstrumentedAttribute[Any] | None = None,
    descending: bool = False,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[Any]:
    """One page of `stmt`'s entities ordered by (sort_column, id), after the cursor's row."""
    keys = [sort_column, id_column] if sort_column is not None else [id_column]
    if cursor is not None:
        anchor = db.session.execute(
            select(*keys).where(id_column == decode_cursor(cursor))
        ).one_or_none()
        if anchor is None:
            raise Invalid.field("cursor", "The cursor points at a row that no longer exists.")
        position, after = tuple_(*keys), tuple_(*anchor)
        stmt = stmt.where(position < after if descending else position > after)
    order = [key.desc() if descending else key.asc() for key in keys]
    rows = list(db.session.execute(stmt.order_by(*order).limit(limit + 1)).scalars())
    items, more = rows[:limit], len(rows) > limit
    return Page(items=items, next_cursor=encode_cursor(items[-1].id) if more else None)
