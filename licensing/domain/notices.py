"""Notices to subscribers: which are due for a license, how they are signed and retried."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from licensing.domain.periods import ensure_utc, preferential_until, rfc3339


class NoticeType(StrEnum):
    SUBSCRIPTION_EXPIRING = "subscription.expiring"
    SUBSCRIPTION_EXPIRED = "subscription.expired"
    PREFERENTIAL_WINDOW_CLOSING = "preferential_window.closing"
    LICENSE_ISSUED = "license.issued"
    LICENSE_RENEWED = "license.renewed"
    LICENSE_REVOKED = "license.revoked"


EXPIRING_NOTICES = (timedelta(days=30), timedelta(days=7))
WINDOW_CLOSING_NOTICE = timedelta(days=7)
# An expiry older than this is history, not news: a first run does not flood subscribers.
EXPIRED_NOTICE_WITHIN = timedelta(days=31)
RETRY_FOR = timedelta(hours=24)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=2)


@dataclass(frozen=True)
class DueNotice:
    """A time-based notice for one license's current term; `term_key` makes it unique."""

    type: NoticeType
    term_key: str
    data: dict[str, str]


def due_notices(updates_until: datetime, now: datetime) -> list[DueNotice]:
    """The time-based notices a license's term calls for at `now` (R17, R18).

    Each has a key naming its term (the `updates_until` it is about), so it is produced once
    per license and term however often the schedule runs; a renewal starts a new term.
    """
    until, now = ensure_utc(updates_until), ensure_utc(now)
    closes = preferential_until(until)
    ends = rfc3339(until)  # once: the scheduling pass calls this for every license in span
    base = {"updates_until": ends, "preferential_until": rfc3339(closes)}
    due: list[DueNotice] = []
    left = until - now
    thirty, seven = EXPIRING_NOTICES
    if seven < left <= thirty:
        due.append(DueNotice(NoticeType.SUBSCRIPTION_EXPIRING, f"{ends}/30d", base))
    if timedelta(0) <= left <= seven:  # D14: on the last instant it still holds
        due.append(DueNotice(NoticeType.SUBSCRIPTION_EXPIRING, f"{ends}/7d", base))
    if timedelta(0) < now - until <= EXPIRED_NOTICE_WITHIN:
        due.append(DueNotice(NoticeType.SUBSCRIPTION_EXPIRED, ends, base))
    if timedelta(0) < closes - now <= WINDOW_CLOSING_NOTICE:
        due.append(DueNotice(NoticeType.PREFERENTIAL_WINDOW_CLOSING, ends, base))
    return due


def next_attempt(*, first_attempt_at: datetime, attempts: int, now: datetime) -> datetime | None:
    """Exponential backoff (30 s, 1 min, 2 min, ... at most 2 h apart) for 24 hours after the
    first attempt; None once that is over: the delivery is dead-lettered."""
    if now - first_attempt_at >= RETRY_FOR:
        return None
    doublings = min(max(attempts - 1, 0), 16)  # 30 s x 2^16 is far past the cap already
    delay = min(FIRST_RETRY * 2**doublings, LONGEST_RETRY)
    return min(now + delay, first_attempt_at + RETRY_FOR)


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """Like Stripe's: `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"
