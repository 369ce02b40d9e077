"""A record's history as it is shown: the lines of a license's, order's, quote's or
customer's append-only history, oldest first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from licensing.adapters.models import HistoryRow


@dataclass(frozen=True)
class HistoryLine:
    """What happened, who did it (an API key, a Stripe event, the system), when, with what."""

    type: str
    actor: str
    at: datetime
    data: Mapping[str, Any]


def history_lines(rows: Iterable[HistoryRow]) -> tuple[HistoryLine, ...]:
    """The rows (loaded in order by their relationship) as lines that cannot be changed."""
    return tuple(
        HistoryLine(
            type=row.type, actor=row.actor, at=row.at, data=MappingProxyType(dict(row.data))
        )
        for row in rows
    )
