"""Issue 20: the hot paths' answers are written by plain functions, not by marshmallow. Each
writes what its documented schema's `dump` writes, for any result the view can return."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from licensing.api.certificates import CertificateSchema, certificate_answer
from licensing.api.helpdesk import EntitlementSchema, entitlement_answer
from licensing.api.licenses import ValidationSchema, validation_answer
from licensing.domain.desk import DeskAnswer
from licensing.domain.entitlements import BanFacts, Department, EntitlementCode, Priority
from licensing.domain.licenses import Channel, Validation, ValidationCode
from licensing.domain.money import Money
from licensing.domain.quotes import WarrantyCode
from licensing.services.certificates import CertificateIssue
from licensing.services.entitlement_facts import PartnerContact
from licensing.services.entitlements import EntitlementView, LicenseShown, PaidWork, WarrantyQuote

FAST = settings(database=None, deadline=None, max_examples=300)

# Any instant, in UTC or at any offset the view might hold (the answer is always UTC).
instants = st.datetimes(
    min_value=datetime(1970, 1, 2),  # noqa: DTZ001 -- hypothesis takes naive bounds
    max_value=datetime(2999, 12, 30),  # noqa: DTZ001
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))]),
)
texts = st.text(max_size=30)
ids = st.integers(1, 2**63 - 1)


def optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


validations = st.builds(
    Validation,
    code=st.sampled_from(ValidationCode),
    edition=optional(texts),
    updates_until=optional(instants),
    update_allowed=optional(st.booleans()),
)
certificates = st.builds(
    CertificateIssue,
    code=st.sampled_from(ValidationCode),
    certificate=optional(texts),
    expires_at=optional(instants),
)
entitlements = st.builds(
    EntitlementView,
    allowed=st.booleans(),
    code=st.sampled_from([*EntitlementCode, *WarrantyCode]),
    department=st.sampled_from(Department),
    customer_id=ids,
    priority=st.sampled_from(Priority),
    paid_work=st.builds(PaidWork, st.builds(Money, st.integers(0, 10**12))),
    desk=st.builds(DeskAnswer, st.booleans(), instants, instants, instants),
    domain=optional(texts),
    license=optional(
        st.builds(LicenseShown, texts, texts, st.sampled_from(Channel), instants, instants)
    ),
    partner=optional(st.builds(PartnerContact, ids, texts, texts, optional(texts))),
    ban=optional(st.builds(BanFacts, ids, texts, optional(instants))),
    version_current=optional(st.booleans()),
    quote=optional(st.builds(WarrantyQuote, ids, optional(instants))),
)


def same_answer(written: dict, dumped: dict) -> None:
    """Equal as values and as the bytes a client reads."""
    assert written == dumped
    assert orjson.dumps(written, option=orjson.OPT_SORT_KEYS) == orjson.dumps(
        dumped, option=orjson.OPT_SORT_KEYS
    )


@FAST
@given(validations)
def test_validate_answers_as_its_schema_dumps(validation: Validation) -> None:
    same_answer(validation_answer(validation), ValidationSchema().dump(validation))


@FAST
@given(certificates)
def test_the_certificate_answers_as_its_schema_dumps(issue: CertificateIssue) -> None:
    same_answer(certificate_answer(issue), CertificateSchema().dump(issue))


@FAST
@given(entitlements)
def test_entitlements_answer_as_their_schema_dumps(view: EntitlementView) -> None:
    same_answer(entitlement_answer(view), EntitlementSchema().dump(view))
