"""May this customer open this ticket? One pure decision, checks in a documented order
(R4-R13, D10, D11)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from licensing.domain.licenses import Channel, LicenseStatus
from licensing.domain.periods import holds


class Department(StrEnum):
    TECHNICAL_SUPPORT = "technical_support"
    CONSULTATION = "consultation"
    WARRANTY = "warranty"


class EntitlementCode(StrEnum):
    ALLOWED = "ALLOWED"
    BANNED = "BANNED"
    NO_LICENSE = "NO_LICENSE"
    DOMAIN_REQUIRED = "DOMAIN_REQUIRED"
    DOMAIN_NOT_LICENSED = "DOMAIN_NOT_LICENSED"
    NOT_LICENSE_OWNER = "NOT_LICENSE_OWNER"
    PARTNER_SUPPORTED = "PARTNER_SUPPORTED"
    SUPPORT_WINDOW_ENDED = "SUPPORT_WINDOW_ENDED"
    LICENSE_INACTIVE = "LICENSE_INACTIVE"


class Priority(StrEnum):
    """R12: Premium holders are served before Pro holders, who come before the rest."""

    PREMIUM = "premium"
    PRO = "pro"
    STANDARD = "standard"


@dataclass(frozen=True)
class BanFacts:
    id: int
    reason: str
    ends_at: datetime | None


@dataclass(frozen=True)
class DomainLicense:
    """The license bound to the asked domain (a live one, else this customer's last)."""

    customer_id: int  # its owner at the instant asked about (D21)
    edition: str
    channel: Channel
    status: LicenseStatus
    support_until: datetime
    updates_until: datetime


@dataclass(frozen=True)
class CustomerFacts:
    """What the decision needs about the customer, loaded once."""

    customer_id: int
    active_ban: BanFacts | None
    # R6 reading: a customer owns a purchased license only while one of theirs is live
    # (active or suspended); refunded or revoked licenses are not counted.
    live_license_count: int
    best_edition: str | None  # of their live licenses


@dataclass(frozen=True)
class Entitlement:
    allowed: bool
    code: EntitlementCode
    priority: Priority
    license: DomainLicense | None = None
    ban: BanFacts | None = None
    partner_routed: bool = False


def priority_of(edition: str | None) -> Priority:
    """R12: by edition code; anything else (no license) is standard."""
    return {"premium": Priority.PREMIUM, "pro": Priority.PRO}.get(edition or "", Priority.STANDARD)


def decide(
    *,
    department: Department,
    customer: CustomerFacts,
    domain_given: bool,
    license: DomainLicense | None,
    at: datetime,
) -> Entitlement:
    """The entitlement, checking in this order (the first that applies answers):

    1. banned at `at` (R13, D11) -> BANNED, in every department;
    2. consultation -> ALLOWED: consultations are open to all (R5, R6);
    3. the customer has no live (active or suspended) license -> NO_LICENSE (R6 and its
       reading: only refunded or revoked ones own nothing, whatever the domain);
    4. no domain given -> DOMAIN_REQUIRED (R7);
    5. no license for that domain -> DOMAIN_NOT_LICENSED (R7);
    6. the domain's license is another account's -> NOT_LICENSE_OWNER (R8);
    7. sold by a partner -> PARTNER_SUPPORTED (R3, R9): the partner supports it;
    8. suspended or revoked -> LICENSE_INACTIVE (D9; a revoked one gets here only when the
       customer holds another, live, license: else step 3 answered);
    9. `at` after `support_until` -> SUPPORT_WINDOW_ENDED (R4, D14: the instant itself holds);
    10. otherwise ALLOWED.

    Priority (R12) is the deciding license's edition when it is the customer's own, else the
    best edition of their live licenses, else standard.
    """
    best = priority_of(customer.best_edition)
    if customer.active_ban is not None:
        return Entitlement(False, EntitlementCode.BANNED, best, ban=customer.active_ban)
    if department is Department.CONSULTATION:
        return Entitlement(True, EntitlementCode.ALLOWED, best)
    if customer.live_license_count == 0:
        return Entitlement(False, EntitlementCode.NO_LICENSE, best)
    if not domain_given:
        return Entitlement(False, EntitlementCode.DOMAIN_REQUIRED, best)
    if license is None:
        return Entitlement(False, EntitlementCode.DOMAIN_NOT_LICENSED, best)
    if license.customer_id != customer.customer_id:
        return Entitlement(False, EntitlementCode.NOT_LICENSE_OWNER, best)
    own = priority_of(license.edition)
    if license.channel is Channel.PARTNER:
        return Entitlement(
            False, EntitlementCode.PARTNER_SUPPORTED, own, license, partner_routed=True
        )
    if license.status is not LicenseStatus.ACTIVE:
        return Entitlement(False, EntitlementCode.LICENSE_INACTIVE, own, license)
    if not holds(license.support_until, at):
        return Entitlement(False, EntitlementCode.SUPPORT_WINDOW_ENDED, own, license)
    return Entitlement(True, EntitlementCode.ALLOWED, own, license)
