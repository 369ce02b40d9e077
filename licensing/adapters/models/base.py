"""What the tables build on: a portable JSON column, enum checks, the append-only history row."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from licensing.adapters.types import BigId, UTCDateTime

JSONData = JSON().with_variant(JSONB(), "postgresql")


def one_of(column: str, values: Iterable[Any]) -> str:
    """A CHECK expression that keeps `column` to the values of a domain enum."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class HistoryRow:
    """An append-only history entry: what happened, who did it (API key, Stripe event), when."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    data: Mapped[dict[str, Any]] = mapped_column(JSONData)


@event.listens_for(HistoryRow, "before_update", propagate=True)
@event.listens_for(HistoryRow, "before_delete", propagate=True)
def _history_is_append_only(mapper: Any, connection: Any, target: Any) -> None:
    """History is evidence: the ORM refuses to change it (the database refuses too)."""
    raise PermissionError(f"{type(target).__tablename__} is append-only")
