"""The helpdesk's question, answered from facts loaded in one SQL statement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from licensing.adapters.models import Quote
from licensing.domain.desk import DeskAnswer, desk_at
from licensing.domain.domains import normalize_domain
from licensing.domain.entitlements import (
    BanFacts,
    CustomerFacts,
    Department,
    DomainLicense,
    Entitlement,
    EntitlementCode,
    Priority,
    decide,
    priority_of,
)
from licensing.domain.errors import Invalid
from licensing.domain.licenses import Channel
from licensing.domain.money import Money
from licensing.domain.quotes import WarrantyCode, warranty_decision
from licensing.extensions import db
from licensing.services.entitlement_facts import (
    PartnerContact,
    customer_facts,
    license_facts,
    partner_contact,
)


@dataclass(frozen=True)
class EntitlementAnswer:
    decision: Entitlement
    department: Department
    customer_id: int
    domain: str | None
    license_key: str | None
    partner: PartnerContact | None
    version_current: bool | None
    desk: DeskAnswer


def entitlement(
    *,
    customer_id: int,
    department: Department,
    domain: str | None,
    version: str | None,
    at: datetime,
    key_to_confirm: int | None = None,
) -> EntitlementAnswer:
    """Load the facts in one statement (`entitlement_facts`: the customer, the ban, the
    release, whether the caller's remembered API key is still active, and the domain's
    license with its partner), then let `domain.entitlements.decide` answer."""
    normalized = normalize_domain(domain) if domain is not None else None
    customer, facts = customer_facts(customer_id, version, at, key_to_confirm, domain=normalized)
    if version is not None and not facts.known:
        raise Invalid.field(
            "version", "The version is not a published release.", code="VERSION_UNKNOWN"
        )
    row = None  # the domain's license, when the question is about one the customer may hold
    if department is Department.TECHNICAL_SUPPORT and normalized and customer.live_license_count:
        row = facts if facts.key is not None else None
    license = license_facts(row)
    decision = decide(
        department=department,
        customer=customer,
        domain_given=normalized is not None,
        license=license,
        at=at,
    )
    shown = decision.license is not None
    return EntitlementAnswer(
        decision=decision,
        department=department,
        customer_id=customer_id,
        domain=normalized,
        license_key=row.key if shown and row is not None else None,
        partner=partner_contact(row) if decision.partner_routed and row is not None else None,
        version_current=None if version is None else version == facts.current,
        desk=desk_at(at),
    )


@dataclass(frozen=True)
class WarrantyAnswer:
    code: WarrantyCode
    customer: CustomerFacts
    quote_id: int
    warranty_until: datetime | None
    desk: DeskAnswer


def warranty_entitlement(
    *, customer_id: int, quote_id: int, at: datetime, key_to_confirm: int | None = None
) -> WarrantyAnswer:
    """R16: warranty tickets are open while the quote's month of warranty runs, to the
    customer whose quote it is (two statements: the customer's facts, then the quote)."""
    customer, _ = customer_facts(customer_id, None, at, key_to_confirm)
    quote = db.session.execute(
        select(Quote.customer_id, Quote.warranty_starts_at, Quote.warranty_until).where(
            Quote.id == quote_id
        )
    ).one_or_none()
    code = warranty_decision(
        banned=customer.active_ban is not None,
        quote_customer_id=quote.customer_id if quote else None,
        customer_id=customer_id,
        starts_at=quote.warranty_starts_at if quote else None,
        ends_at=quote.warranty_until if quote else None,
        at=at,
    )
    own = quote is not None and quote.customer_id == customer_id
    return WarrantyAnswer(
        code=code,
        customer=customer,
        quote_id=quote_id,
        warranty_until=quote.warranty_until if own else None,
        desk=desk_at(at),
    )


@dataclass(frozen=True)
class LicenseShown:
    """The license that decided, as the helpdesk sees it."""

    key: str
    edition: str
    channel: Channel
    support_until: datetime
    updates_until: datetime


@dataclass(frozen=True)
class PaidWork:
    """R14: the rate the helpdesk can offer, on every answer (denials included)."""

    rate_per_hour: Money


@dataclass(frozen=True)
class WarrantyQuote:
    id: int
    warranty_until: datetime | None  # to the quote's own customer only


@dataclass(frozen=True)
class EntitlementView:
    """The helpdesk's answer to one ticket form, as it is shown; a denial is an answer too
    (`allowed` false, with its code)."""

    allowed: bool
    code: EntitlementCode | WarrantyCode
    department: Department
    customer_id: int
    priority: Priority
    paid_work: PaidWork
    desk: DeskAnswer
    domain: str | None = None
    license: LicenseShown | None = None
    partner: PartnerContact | None = None
    ban: BanFacts | None = None
    version_current: bool | None = None
    quote: WarrantyQuote | None = None


def show_entitlement(
    *,
    customer_id: int,
    department: Department,
    domain: str | None,
    version: str | None,
    quote_id: int | None,
    paid_work_rate: int,
    at: datetime,
    key_to_confirm: int | None = None,
) -> EntitlementView:
    """The answer to a ticket form: `entitlement` (R4-R13), or for department=warranty
    `warranty_entitlement` on `quote_id` (R16); `paid_work_rate` in minor units an hour."""
    paid_work = PaidWork(Money(paid_work_rate))
    if department is Department.WARRANTY:
        return _warranty_view(customer_id, quote_id, paid_work, at, key_to_confirm)
    answer = entitlement(
        customer_id=customer_id,
        department=department,
        domain=domain,
        version=version,
        at=at,
        key_to_confirm=key_to_confirm,
    )
    return _entitlement_view(answer, paid_work)


def _warranty_view(
    customer_id: int,
    quote_id: int | None,
    paid_work: PaidWork,
    at: datetime,
    key_to_confirm: int | None,
) -> EntitlementView:
    """R16: a warranty ticket's answer, about the quote `quote_id` (which it needs)."""
    if quote_id is None:
        raise Invalid.field(
            "quote_id", "A warranty question (department=warranty) needs a quote_id."
        )
    warranty = warranty_entitlement(
        customer_id=customer_id, quote_id=quote_id, at=at, key_to_confirm=key_to_confirm
    )
    return EntitlementView(
        allowed=warranty.code is WarrantyCode.ALLOWED,
        code=warranty.code,
        department=Department.WARRANTY,
        customer_id=warranty.customer.customer_id,
        priority=priority_of(warranty.customer.best_edition),
        paid_work=paid_work,
        desk=warranty.desk,
        ban=warranty.customer.active_ban,
        quote=WarrantyQuote(warranty.quote_id, warranty.warranty_until),
    )


def _entitlement_view(answer: EntitlementAnswer, paid_work: PaidWork) -> EntitlementView:
    """R4-R13: `entitlement`'s answer as it is shown, the license only when it decided."""
    decision = answer.decision
    return EntitlementView(
        allowed=decision.allowed,
        code=decision.code,
        department=answer.department,
        customer_id=answer.customer_id,
        priority=decision.priority,
        paid_work=paid_work,
        desk=answer.desk,
        domain=answer.domain,
        license=_license_shown(decision.license, answer.license_key),
        partner=answer.partner,
        ban=decision.ban,
        version_current=answer.version_current,
    )


def _license_shown(license: DomainLicense | None, key: str | None) -> LicenseShown | None:
    if license is None or key is None:
        return None
    return LicenseShown(
        key, license.edition, license.channel, license.support_until, license.updates_until
    )
