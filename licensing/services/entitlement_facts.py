"""What the helpdesk's answer is decided on, loaded in one SQL statement: the customer, their
ban and live licenses, the current release and, for a domain, its license and partner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CTE,
    BindParameter,
    ScalarSelect,
    Select,
    Subquery,
    bindparam,
    case,
    func,
    or_,
    outerjoin,
    select,
    true,
)
from sqlalchemy.orm import aliased

from licensing.adapters.models import Ban, Customer, Edition, License, Partner, Release
from licensing.adapters.ownership import owned_at, owner_at
from licensing.adapters.prepared import PreparedRead
from licensing.adapters.types import UTCDateTime
from licensing.domain.entitlements import BanFacts, CustomerFacts, DomainLicense
from licensing.domain.errors import NotFound
from licensing.domain.licenses import Channel, LicenseStatus
from licensing.services import api_keys


@dataclass(frozen=True)
class PartnerContact:
    id: int
    name: str
    support_email: str
    support_url: str | None


def _active_ban(at: BindParameter[datetime]) -> ScalarSelect[Any]:
    """The id of the customer's ban applying at `:at` (D11): started, not yet ended, not
    lifted by then; correlated to the customer of the outer statement."""
    other = aliased(Ban)
    return (
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


def _owned_licenses(at: BindParameter[datetime]) -> CTE:
    """The customer's live licenses at `:at` (D21) with their editions' priority, found once
    for both the count and the best edition."""
    live = License.status != LicenseStatus.REVOKED.value  # active or suspended (D4)
    return (
        select(License.edition_code, Edition.priority)
        .join(Edition, Edition.code == License.edition_code)
        .where(owned_at(bindparam("customer_id"), at), live)
        .cte("owned")
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
    active_ban = _active_ban(at)
    owned = _owned_licenses(at)
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


def customer_facts(
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


def license_facts(row) -> DomainLicense | None:  # type: ignore[no-untyped-def]
    """The domain's license from `customer_facts`' row, as `decide` reads it."""
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


def partner_contact(row) -> PartnerContact:  # type: ignore[no-untyped-def]
    """The contacts of the partner who sold the domain's license, from the same row."""
    return PartnerContact(row.partner_id, row.partner_name, row.support_email, row.support_url)
