"""The one clock of the service: every `now` a use case sees comes from here."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current instant, timezone-aware UTC, to the whole second (D14 counts in seconds)."""
    return datetime.now(UTC).replace(microsecond=0)
