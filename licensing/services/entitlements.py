"""The helpdesk's question, answered from facts loaded in one SQL statement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Subquery, bindparam, case, func, or_, outerjoin, select, true
from sqlalchemy.orm import aliased

from licensing.adapters.models import Ban, Customer, Edition, License, Partner, Quote, Release
from licensing.adapters.ownership import owned_at, owner_at
from licensing.adapters.prepared import PreparedRead
from licensing.adapters.types import UTCDateTime
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
from licensing.domain.errors import Invalid, NotFound
from licensing.domain.licenses import Channel, LicenseStatus
from licensing.domain.money import Money
from licensing.domain.quotes import WarrantyCode, warranty_decision
from licensing.extensions import db
from licensing.services import api_keys


@dataclass(frozen=True)
class PartnerContact:
    id: int
    name: str
    support_email: str
    support_url: str | None


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
    """Load the facts in one statement (the customer, the ban, the release, whether the
    caller's remembered API key is still active, and the domain's license with its
    partner), then let `domain.entitlements.decide` answer."""
    normalized = normalize_domain(domain) if domain is not None else None
    customer, facts = _customer_facts(customer_id, version, at, key_to_confirm, domain=normalized)
    if version is not None and not facts.known:
        raise Invalid.field(
            "version", "The version is not a published release.", code="VERSION_UNKNOWN"
        )
    row = None  # the domain's license, when the question is about one the customer may hold
    if department is Department.TECHNICAL_SUPPORT and normalized and customer.live_license_count:
        row = facts if facts.key is not None else None
    license = _license_facts(row)
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
        partner=_partner(row) if decision.partner_routed and row is not None else None,
        version_current=None if version is None else version == facts.current,
        desk=desk_at(at),
    )


def _customer_facts_statement(domain_license: Subquery | None = None) -> Select[Any]:
    """One statement: the customer, the ban applying at `:at` (D11), how many live licenses
    they held at `:at` (R6 reading: refunded or revoked ones do not count; D21: a license
    transferred after `:at` is still its previous owner's) and the best edition among them,
    and the current release (R10), with `:version` known or not; with `domain_license`, its
    row's columns beside them (NULL when it has none).

    Built once, with bound parameters, so each request only binds values to a statement
    SQLAlchemy has already compiled (the hot path's cost is the database, not Python)."""
    at = bindparam("at", type_=UTCDateTime())
    other = aliased(Ban)
    active_ban = (
        select(other.id)
        .where(
            other.customer_id == Customer.id,
            other.starts_at <= at,
            or_(other.ends_at.is_(None), other.ends_at > at),
            or_(other.lifted_at.is_(None), other.lifted_at > at),
        )
        # The ban that lasts longest is the one to name (until lifted, then latest end).
        .order_by(other.ends_at.is_(None).desc(), other.ends_at.desc(), other.id.desc())
        .limit(1)
        .correlate(Customer)
        .scalar_subquery()
    )
    live = License.status != LicenseStatus.REVOKED.value  # active or suspended (D4)
    # The customer's live licenses at `:at` (D21), found once for both the count and the best.
    owned = (
        select(License.edition_code, Edition.priority)
        .join(Edition, Edition.code == License.edition_code)
        .where(owned_at(bindparam("customer_id"), at), live)
        .cte("owned")
    )
    held = select(func.count()).select_from(owned)
    best = select(owned.c.edition_code).order_by(owned.c.priority.desc()).limit(1)
    current = (
        select(Release.version).order_by(Release.released_at.desc(), Release.id.desc()).limit(1)
    )
    known = select(func.count(Release.id)).where(Release.version == bindparam("version"))
    joined = outerjoin(Customer, Ban, Ban.id == active_ban)
    columns = [
        Customer.id,
        Ban.id.label("ban_id"),
        Ban.reason,
        Ban.ends_at,
        held.scalar_subquery().label("held"),
        best.scalar_subquery().label("best"),
        current.scalar_subquery().label("current"),
        known.scalar_subquery().label("known"),
        api_keys.key_is_active().label("key_active"),
    ]
    if domain_license is not None:
        joined = joined.outerjoin(domain_license, true())
        columns += list(domain_license.c)
    return select(*columns).select_from(joined).where(Customer.id == bindparam("customer_id"))


def _domain_license_statement() -> Select[Any]:
    """The live license on `:domain`, else the latest on it that this customer owned at
    `:at` (a revoked one explains itself as LICENSE_INACTIVE), with its owner at `:at` (D21:
    a transfer made after `:at` has not happened yet) and its partner's contacts. Every
    license ever bound to the domain is reached through `ix_licenses_domain`."""
    at = bindparam("at", type_=UTCDateTime())
    owner = owner_at(License, at)
    live = License.status != LicenseStatus.REVOKED.value
    return (
        select(
            License.key,
            owner.label("owner_id"),
            License.edition_code,
            License.channel,
            License.status,
            License.support_until,
            License.updates_until,
            Partner.id.label("partner_id"),
            Partner.name.label("partner_name"),
            Partner.support_email,
            Partner.support_url,
        )
        .outerjoin(Partner, Partner.id == License.partner_id)
        .where(License.domain == bindparam("domain"), or_(live, owner == bindparam("customer_id")))
        .order_by(case((live, 0), else_=1), License.id.desc())
        .limit(1)
    )


def _entitlement_facts_statement() -> Select[Any]:
    """The customer's facts and, beside them, the domain's license (its columns NULL when
    there is none): what a ticket needs, in one statement and one round trip."""
    return _customer_facts_statement(_domain_license_statement().subquery("domain_license"))


# Compiled once, run in autocommit on a pooled connection: one round trip.
CUSTOMER_FACTS = PreparedRead(_customer_facts_statement())  # warranty tickets
ENTITLEMENT_FACTS = PreparedRead(_entitlement_facts_statement())


def _customer_facts(
    customer_id: int,
    version: str | None,
    at: datetime,
    key_to_confirm: int | None = None,
    *,
    domain: str | None = None,
) -> tuple[CustomerFacts, Any]:
    """The customer's facts, and the row they came in (with the domain's license when a
    `domain` is given); 404 for no such customer, 401 for a remembered key revoked since."""
    read = CUSTOMER_FACTS if domain is None else ENTITLEMENT_FACTS
    row = read.first(
        customer_id=customer_id,
        at=at,
        version=version or "",
        key_id=key_to_confirm or 0,
        **({} if domain is None else {"domain": domain}),
    )
    api_keys.confirm(key_to_confirm, None if row is None else row.key_active)
    if row is None:
        raise NotFound(
            f"There is no customer with the id {customer_id}.", code="CUSTOMER_NOT_FOUND"
        )
    ban = BanFacts(row.ban_id, row.reason, row.ends_at) if row.ban_id is not None else None
    facts = CustomerFacts(
        customer_id=row.id, active_ban=ban, live_license_count=row.held, best_edition=row.best
    )
    return facts, row


def _license_facts(row) -> DomainLicense | None:  # type: ignore[no-untyped-def]
    if row is None:
        return None
    return DomainLicense(
        customer_id=row.owner_id,
        edition=row.edition_code,
        channel=Channel(row.channel),
        status=LicenseStatus(row.status),
        support_until=row.support_until,
        updates_until=row.updates_until,
    )


def _partner(row) -> PartnerContact:  # type: ignore[no-untyped-def]
    return PartnerContact(row.partner_id, row.partner_name, row.support_email, row.support_url)


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
    customer, _ = _customer_facts(customer_id, None, at, key_to_confirm)
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
            department=department,
            customer_id=warranty.customer.customer_id,
            priority=priority_of(warranty.customer.best_edition),
            paid_work=paid_work,
            desk=warranty.desk,
            ban=warranty.customer.active_ban,
            quote=WarrantyQuote(warranty.quote_id, warranty.warranty_until),
        )
    answer = entitlement(
        customer_id=customer_id,
        department=department,
        domain=domain,
        version=version,
        at=at,
        key_to_confirm=key_to_confirm,
    )
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
