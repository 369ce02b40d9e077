"""What a license is and how a shop installation's validation is decided (D4, D17)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class LicenseStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class Channel(StrEnum):
    """R3: a license is sold directly through our checkout or by a partner."""

    DIRECT = "direct"
    PARTNER = "partner"


# D4: a live license holds its domain; a revoked (or refunded, hence revoked) one frees it.
LIVE_STATUSES = frozenset({LicenseStatus.ACTIVE, LicenseStatus.SUSPENDED})


class ValidationCode(StrEnum):
    VALID = "VALID"
    NOT_FOUND = "NOT_FOUND"
    DOMAIN_MISMATCH = "DOMAIN_MISMATCH"
    SUSPENDED = "SUSPENDED"
    REVOKED = "REVOKED"


@dataclass(frozen=True)
class LicenseFacts:
    """What validation needs to know about the license a key names."""

    domain: str
    status: LicenseStatus
    edition: str
    updates_until: datetime
    support_until: datetime  # shown by a certificate (D22), not by validate


@dataclass(frozen=True)
class Validation:
    """The answer to a shop installation; license details only when the key is valid."""

    code: ValidationCode
    edition: str | None = None
    updates_until: datetime | None = None
    update_allowed: bool | None = None

    @property
    def valid(self) -> bool:
        return self.code is ValidationCode.VALID


def update_allowed(updates_until: datetime, released_at: datetime) -> bool:
    """D17: a release published on or before `updates_until` may be installed."""
    return released_at <= updates_until


def validate_license(
    license: LicenseFacts | None, *, domain: str, release_published_at: datetime | None = None
) -> Validation:
    """Decide a validation, checks in this order, each with its stable code.

    1. no license for the key -> NOT_FOUND (malformed keys included: nothing to reveal);
    2. revoked -> REVOKED; 3. suspended -> SUSPENDED (the status outranks the domain: a
       revoked key is revoked wherever it is used);
    4. bound to another domain -> DOMAIN_MISMATCH (nothing of the license is shown);
    5. otherwise VALID, with the edition, `updates_until` and, when a version was given,
       whether that release may be installed (D17). The license itself never stops working
       when the subscription ends (D17), so an expired subscription is still VALID.
    """
    if license is None:
        return Validation(ValidationCode.NOT_FOUND)
    if license.status is LicenseStatus.REVOKED:
        return Validation(ValidationCode.REVOKED)
    if license.status is LicenseStatus.SUSPENDED:
        return Validation(ValidationCode.SUSPENDED)
    if license.domain != domain:
        return Validation(ValidationCode.DOMAIN_MISMATCH)
    allowed = (
        None
        if release_published_at is None
        else update_allowed(license.updates_until, release_published_at)
    )
    return Validation(
        ValidationCode.VALID,
        edition=license.edition,
        updates_until=license.updates_until,
        update_allowed=allowed,
    )
