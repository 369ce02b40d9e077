"""Bans from the helpdesk (R13, D11)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from licensing.domain.periods import ensure_utc


class BanReason(StrEnum):
    """R13's grounds: abuse or obscene language; unreasonable behaviour; knowingly false data
    to hide a license violation; spam (mass duplicate tickets, not technical duplicates)."""

    ABUSE = "abuse"
    BEHAVIOUR = "behaviour"
    FALSE_DATA = "false_data"
    SPAM = "spam"


def applies(
    *, starts_at: datetime, ends_at: datetime | None, lifted_at: datetime | None, at: datetime
) -> bool:
    """D11: from its start up to, not including, its end or the instant it was lifted."""
    at = ensure_utc(at)
    if at < starts_at:
        return False
    return all(stop is None or at < stop for stop in (ends_at, lifted_at))
