"""How emails write money and days, and compare addresses (D24, D25)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from licensing.domain.emails import (
    MAILED_NOTICES,
    SUBJECT_LENGTH,
    format_day,
    format_instant,
    format_money,
    normalize_email,
    subject,
)
from licensing.domain.notices import NoticeType


def test_d24_addresses_compare_trimmed_and_in_lower_case() -> None:
    assert normalize_email("  Ann@Example.COM\t") == "ann@example.com"


def test_d25_every_notice_about_a_license_is_mailed() -> None:
    assert set(NoticeType) == MAILED_NOTICES


def test_money_and_days_as_people_read_them() -> None:
    assert format_money(6667, "USD") == "$66.67"
    assert format_money(12345600, "USD") == "$123,456.00"
    assert format_money(5, "EUR") == "0.05 EUR"
    instant = datetime(2027, 1, 1, 9, 30, tzinfo=UTC)
    assert format_day(instant) == "Friday 1 January 2027"
    assert format_instant(instant) == "1 January 2027, 09:30 UTC"


# A domain as D3 allows it: labels of 1 to 63 letters, 253 characters at most.
LABELS = st.lists(st.text("abcxyz", min_size=1, max_size=63), min_size=2, max_size=5)
DOMAINS = LABELS.map(".".join).filter(lambda domain: len(domain) <= 253)


@given(st.sampled_from(list(NoticeType)), DOMAINS, st.sampled_from(["Pro", "Premium"]))
def test_d25_a_subject_fits_the_outbox_whatever_the_domain(
    notice_type: NoticeType, domain: str, edition: str
) -> None:
    line = subject(notice_type, domain=domain, edition=edition, data={})
    assert len(line) <= SUBJECT_LENGTH
    whole = subject(notice_type, domain="a.example", edition=edition, data={})
    if line.endswith("\N{HORIZONTAL ELLIPSIS}"):  # cut: the wording's start, the domain's
        assert len(line) == SUBJECT_LENGTH and domain[:150] in line
    else:
        assert line == whole.replace("a.example", domain)


def test_d25_the_longest_subject_for_the_longest_domain_is_cut_to_fit() -> None:
    domain = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])  # 253 characters
    line = subject(NoticeType.SUBSCRIPTION_EXPIRED, domain=domain, edition="Pro", data={})
    assert len(line) == SUBJECT_LENGTH and line.endswith(
        "renew to keep them co\N{HORIZONTAL ELLIPSIS}"
    )
    assert line.startswith(f"Updates for {domain} have ended")
