"""Which notices a term calls for, the retry schedule and the signature (R17, R18, D14)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licensing.domain.notices import NoticeType, due_notices, next_attempt, signature

UNTIL = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)  # window closes 2026-04-30T12:00Z


def kinds(now: datetime) -> list[tuple[str, str]]:
    return [(due.type.value, due.term_key) for due in due_notices(UNTIL, now)]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (UNTIL - timedelta(days=31), []),
        (UNTIL - timedelta(days=30), [("subscription.expiring", "2026-03-31T12:00:00Z/30d")]),
        (
            UNTIL - timedelta(days=7, seconds=1),
            [("subscription.expiring", "2026-03-31T12:00:00Z/30d")],
        ),
        (UNTIL - timedelta(days=7), [("subscription.expiring", "2026-03-31T12:00:00Z/7d")]),
        (UNTIL, [("subscription.expiring", "2026-03-31T12:00:00Z/7d")]),  # D14: still holds
        (UNTIL + timedelta(seconds=1), [("subscription.expired", "2026-03-31T12:00:00Z")]),
        (
            datetime(2026, 4, 23, 12, 0, tzinfo=UTC),
            [
                ("subscription.expired", "2026-03-31T12:00:00Z"),
                ("preferential_window.closing", "2026-03-31T12:00:00Z"),
            ],
        ),
        (
            datetime(2026, 4, 30, 12, 0, 1, tzinfo=UTC),
            [("subscription.expired", "2026-03-31T12:00:00Z")],
        ),
        (UNTIL + timedelta(days=32), []),
    ],
)
def test_r17_r18_notices_due_along_a_term(now: datetime, expected: list[tuple[str, str]]) -> None:
    assert kinds(now) == expected


def test_each_notice_names_its_term_so_a_renewal_starts_new_ones() -> None:
    renewed = UNTIL.replace(year=2027)
    first = {d.term_key for d in due_notices(UNTIL, UNTIL - timedelta(days=1))}
    second = {d.term_key for d in due_notices(renewed, renewed - timedelta(days=1))}
    assert first.isdisjoint(second)
    assert all(d.type in NoticeType for d in due_notices(UNTIL, UNTIL))


@given(attempts=st.integers(1, 200), elapsed=st.integers(0, 2 * 86400))
def test_retries_back_off_and_stop_after_24_hours(attempts: int, elapsed: int) -> None:
    first = datetime(2026, 1, 1, tzinfo=UTC)
    now = first + timedelta(seconds=elapsed)
    retry = next_attempt(first_attempt_at=first, attempts=attempts, now=now)
    if elapsed >= 86400:
        assert retry is None
    else:
        assert retry is not None and now < retry <= first + timedelta(hours=24)
        assert retry - now <= timedelta(hours=2)


def test_backoff_doubles_from_30_seconds() -> None:
    first = datetime(2026, 1, 1, tzinfo=UTC)
    delays = [
        next_attempt(first_attempt_at=first, attempts=n, now=first) - first for n in (1, 2, 3, 4)
    ]
    assert delays == [timedelta(seconds=s) for s in (30, 60, 120, 240)]


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    header = signature("s3cret-s3cret-s3", b'{"a":1}', 1700000000)
    expected = hmac.new(b"s3cret-s3cret-s3", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
