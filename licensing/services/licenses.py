"""Licenses: issuing one (import, partner sale), moving it to another domain (D5), reading it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from licensing.adapters.models import Edition, License, LicenseEvent, Partner
from licensing.adapters.pagination import Page, paginate
from licensing.domain.domains import normalize_domain
from licensing.domain.errors import Conflict, Invalid, NotFound
from licensing.domain.license_keys import canonical_license_key, generate_license_key
from licensing.domain.licenses import LIVE_STATUSES, Channel, LicenseStatus
from licensing.domain.notices import NoticeType
from licensing.domain.periods import license_dates
from licensing.extensions import db
from licensing.services import notices
from licensing.services.accounts import get_customer, named_customer
from licensing.services.catalog import ReleaseRef, newest_allowed_release
from licensing.services.history import HistoryLine, history_lines
from licensing.services.transactions import commit, flush

LIVE_DOMAIN_INDEX = ("uq_licenses_live_domain", "licenses.domain")


@dataclass(frozen=True)
class NewLicense:
    """What issuing a license needs; the domain as given (normalized here, D3)."""

    customer_id: int
    edition: str
    domain: str
    channel: Channel
    purchased_at: datetime
    partner_id: int | None = None
    updates_until: datetime | None = None


def domain_taken(domain: str) -> Conflict:
    return Conflict(
        f"The domain {domain} is held by another live license (D4).", code="DOMAIN_TAKEN"
    )


def record_event(
    license: License, event_type: str, /, *, actor: str, at: datetime, **data: Any
) -> LicenseEvent:
    """Append to the license's history (never updated or deleted)."""
    event = LicenseEvent(license_id=license.id, type=event_type, actor=actor, at=at, data=data)
    db.session.add(event)
    return event


def issue_license(
    *,
    new: NewLicense,
    source: str,
    actor: str,
    now: datetime,
    partner_in_sight: int | None = None,
) -> License:
    """Issue a license for one domain (R2, D4) with the dates of its purchase (R4, R17).

    `partner_in_sight`: the caller is that partner's key, which sells only to its own
    customers (D26)."""
    license = add_license(
        new=new, source=source, actor=actor, now=now, partner_in_sight=partner_in_sight
    )
    commit(on_conflict={LIVE_DOMAIN_INDEX: domain_taken(license.domain)})
    return license


def add_license(
    *,
    new: NewLicense,
    source: str,
    actor: str,
    now: datetime,
    partner_in_sight: int | None = None,
    **provenance: Any,
) -> License:
    """The license row and its first history, in the caller's transaction (not committed)."""
    domain = normalize_domain(new.domain)
    _check_references(new, partner_in_sight=partner_in_sight)
    if new.purchased_at > now:
        raise Invalid.field("purchased_at", "A purchase cannot be in the future.")
    if new.updates_until is not None and new.updates_until < new.purchased_at:
        raise Invalid.field(
            "updates_until", "The updates subscription cannot end before the purchase."
        )
    ensure_domain_free(domain)
    dates = license_dates(new.purchased_at, new.updates_until)
    license = License(
        key=generate_license_key(),
        edition_code=new.edition,
        domain=domain,
        customer_id=new.customer_id,
        channel=new.channel.value,
        partner_id=new.partner_id,
        status=LicenseStatus.ACTIVE.value,
        purchased_at=dates.purchased_at,
        support_until=dates.support_until,
        updates_until=dates.updates_until,
        initial_updates_until=dates.updates_until,
        created_at=now,
    )
    db.session.add(license)
    flush(on_conflict={LIVE_DOMAIN_INDEX: domain_taken(domain)})
    record_event(
        license,
        "issued",
        actor=actor,
        at=now,
        source=source,
        edition=new.edition,
        channel=new.channel.value,
        partner_id=new.partner_id,
        customer_id=new.customer_id,
        **provenance,
    )
    record_event(license, "domain_bound", actor=actor, at=now, domain=domain)
    notices.emit(license, NoticeType.LICENSE_ISSUED, "issued", now=now, source=source)
    return license


def _check_references(new: NewLicense, *, partner_in_sight: int | None) -> None:
    """The customer, edition and partner named in the request must exist (422 naming each);
    a partner's key names only its own customers, any other is unknown to it (D26)."""
    named_customer(new.customer_id, partner_id=partner_in_sight)
    if db.session.get(Edition, new.edition) is None:
        raise Invalid.field("edition", "There is no such edition.", code="EDITION_NOT_FOUND")
    if new.channel is Channel.PARTNER:
        if new.partner_id is None:
            raise Invalid.field("partner_id", "A partner sale must name its partner.")
        if db.session.get(Partner, new.partner_id) is None:
            raise Invalid.field("partner_id", "There is no such partner.", code="PARTNER_NOT_FOUND")
    elif new.partner_id is not None:
        raise Invalid.field("partner_id", "A direct sale has no partner (R3).")


def _live_holder(domain: str) -> int | None:
    """The id of the live license bound to `domain` (D4: there is at most one)."""
    return db.session.execute(
        select(License.id).where(
            License.domain == domain, License.status.in_([s.value for s in LIVE_STATUSES])
        )
    ).scalar_one_or_none()


def domain_is_free(domain: str) -> bool:
    return _live_holder(domain) is None


def ensure_domain_free(domain: str, *, except_license_id: int | None = None) -> None:
    """D4, the friendly check; the partial unique index is what holds under races."""
    holder = _live_holder(domain)
    if holder is not None and holder != except_license_id:
        raise domain_taken(domain)


def rebind_domain(*, key: str, domain: str, actor: str, now: datetime) -> License:
    """D5: move a live license to another domain; its dates do not change."""
    domain = normalize_domain(domain)
    license = find_license(key, lock=True)
    if license.status not in LIVE_STATUSES:
        raise Conflict(
            f"The license is {license.status}; only a live license can move to another domain.",
            code="LICENSE_INACTIVE",
        )
    if license.domain == domain:
        return license
    ensure_domain_free(domain, except_license_id=license.id)
    previous, license.domain = license.domain, domain
    record_event(license, "domain_unbound", actor=actor, at=now, domain=previous)
    record_event(license, "domain_bound", actor=actor, at=now, domain=domain)
    commit(on_conflict={LIVE_DOMAIN_INDEX: domain_taken(domain)})
    return license


def find_license(
    key: str, *, lock: bool = False, partner_id: int | None = None, with_history: bool = False
) -> License:
    """The license a key names; a partner sees only its own (others are not found)."""
    canonical = canonical_license_key(key)
    stmt = select(License).where(License.key == canonical)
    if with_history:
        stmt = stmt.options(selectinload(License.history))
    if partner_id is not None:
        stmt = stmt.where(License.partner_id == partner_id)
    license = (
        db.session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
        if canonical
        else None
    )
    if license is None:
        raise NotFound("There is no license with this key.", code="LICENSE_NOT_FOUND")
    return license


def get_license(key: str, *, partner_id: int | None = None) -> License:
    """A license with its history loaded, oldest event first."""
    return find_license(key, partner_id=partner_id, with_history=True)


@dataclass(frozen=True)
class LicenseSummary:
    """A license as a list shows it: its binding, owner and dates."""

    key: str
    edition_code: str
    domain: str
    customer_id: int
    channel: str
    partner_id: int | None
    status: str
    purchased_at: datetime
    support_until: datetime
    updates_until: datetime
    preferential_renewal_until: datetime


@dataclass(frozen=True)
class LicenseView(LicenseSummary):
    """A license as it is shown alone: with what it may install (D17) and its history."""

    newest_allowed_release: ReleaseRef | None
    history: tuple[HistoryLine, ...]


def license_summary(license: License) -> LicenseSummary:
    return LicenseSummary(**_summary_fields(license))


def _summary_fields(license: License) -> dict[str, Any]:
    return {
        "key": license.key,
        "edition_code": license.edition_code,
        "domain": license.domain,
        "customer_id": license.customer_id,
        "channel": license.channel,
        "partner_id": license.partner_id,
        "status": license.status,
        "purchased_at": license.purchased_at,
        "support_until": license.support_until,
        "updates_until": license.updates_until,
        "preferential_renewal_until": license.preferential_renewal_until,
    }


def show_license(key: str, *, partner_id: int | None = None) -> LicenseView:
    """The license a key names, within a partner's sight (D26), with the newest release its
    updates subscription covers (D17) and its history, oldest first."""
    license = get_license(key, partner_id=partner_id)
    return LicenseView(
        **_summary_fields(license),
        newest_allowed_release=newest_allowed_release(license.updates_until),
        history=history_lines(license.history),
    )


def list_customer_licenses(
    customer_id: int, *, partner_id: int | None, limit: int, cursor: str | None
) -> Page[LicenseSummary]:
    """A customer's licenses; a partner (`partner_id`) sees those it sold to its own
    customers, and another's customer is unknown to it (D26)."""
    get_customer(customer_id, partner_id=partner_id)
    stmt = select(License).where(License.customer_id == customer_id)
    if partner_id is not None:
        stmt = stmt.where(License.partner_id == partner_id)
    page = paginate(stmt, id_column=License.id, limit=limit, cursor=cursor)
    return Page([license_summary(license) for license in page.items], page.next_cursor)
