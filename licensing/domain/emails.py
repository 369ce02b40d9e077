"""Email to people (D24, D25): how an address is compared, which notices are mailed, what
each says in its subject, and how money and days are written in a message."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from licensing.domain.notices import NoticeType
from licensing.domain.periods import ensure_utc

# D25: every notice that concerns one license is also mailed to its owner.
MAILED_NOTICES = frozenset(NoticeType)
REMINDERS = frozenset(
    {
        NoticeType.SUBSCRIPTION_EXPIRING,
        NoticeType.SUBSCRIPTION_EXPIRED,
        NoticeType.PREFERENTIAL_WINDOW_CLOSING,
    }
)
ACCOUNT_PATH = "/account"  # the page where an owner renews, moves a domain, downloads


def normalize_email(email: str) -> str:
    """D24: an email address as it is compared and stored: trimmed, in lower case."""
    return email.strip().lower()


# The outbox key of a notice's email is this and the notice's id (`notice:<id>`): one email
# per notice, however often it is asked.
NOTICE_CAUSE_PREFIX = "notice:"


def format_money(amount: int, currency: str) -> str:
    """Minor units as people read them: `$60.00` for USD, `60.00 EUR` for anything else."""
    major, minor = divmod(amount, 100)
    text = f"{major:,}.{minor:02d}"
    return f"${text}" if currency == "USD" else f"{text} {currency}"


def format_day(instant: datetime) -> str:
    """The UTC calendar day of an instant, spelt out (`Monday 1 March 2027`): D14's
    dates are inclusive, so the day named is the last one on which the right holds."""
    day = ensure_utc(instant)
    return f"{day:%A} {day.day} {day:%B %Y}"


def format_instant(instant: datetime) -> str:
    """`1 March 2027, 10:00 UTC`: the exact end of a right, for the small print."""
    moment = ensure_utc(instant)
    return f"{moment.day} {moment:%B %Y, %H:%M} UTC"


@dataclass(frozen=True)
class Reminder:
    """What a renewal costs when the reminder is written, and until when that holds."""

    rate: str
    percent: int
    price: str
    preferential_until: datetime
    standard_price: str


def one_line(text: str) -> str:
    """`text` with each control character (CR, LF, TAB, ...) made a space: a header line
    cannot carry them, and a name or a domain that held one must not fail or fold a mail."""
    return "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)


# The longest subject the outbox keeps (its column); one longer is cut, with an ellipsis.
SUBJECT_LENGTH = 300


def subject(notice_type: NoticeType, *, domain: str, edition: str, data: dict[str, str]) -> str:
    """The subject line, on one line: what happened to which site, and the date that matters;
    at most SUBJECT_LENGTH characters (a domain may have 253, D3, and the longest wording
    around it 57 more)."""
    line = one_line(_subject(notice_type, domain=domain, edition=edition, data=data))
    if len(line) <= SUBJECT_LENGTH:
        return line
    return line[: SUBJECT_LENGTH - 1] + "\N{HORIZONTAL ELLIPSIS}"


def _subject(notice_type: NoticeType, *, domain: str, edition: str, data: dict[str, str]) -> str:
    if notice_type is NoticeType.LICENSE_ISSUED:
        return f"Your Shop {edition} license for {domain}"
    if notice_type is NoticeType.LICENSE_RENEWED:
        return f"Updates for {domain} renewed"
    if notice_type is NoticeType.LICENSE_REVOKED:
        return f"Your Shop license for {domain} was revoked"
    if notice_type is NoticeType.SUBSCRIPTION_EXPIRED:
        return f"Updates for {domain} have ended: renew to keep them coming"
    if notice_type is NoticeType.PREFERENTIAL_WINDOW_CLOSING:
        return f"Last days to renew {domain} at the preferential rate"
    return f"Updates for {domain} end soon: renew now"
