"""Validation of a license key by a shop installation (contract: `POST /v1/licenses/validate`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select

from licensing.adapters.models import License, Release
from licensing.adapters.prepared import PreparedRead
from licensing.domain.domains import normalize_domain
from licensing.domain.errors import Invalid
from licensing.domain.license_keys import canonical_license_key
from licensing.domain.licenses import LicenseFacts, LicenseStatus, Validation, validate_license

# Compiled once, run on a pooled connection in autocommit: a call binds values and makes one
# round trip (the hot path, issues 9 and 20).
RELEASE_DATE = PreparedRead(
    select(Release.released_at).where(Release.version == bindparam("version"))
)
LICENSE_FACTS = select(
    License.key,
    License.domain,
    License.status,
    License.edition_code,
    License.updates_until,
    License.support_until,
).where(License.key == bindparam("key"))


def validate(*, key: str, domain: str, version: str | None) -> Validation:
    """Answer a shop: is this key good for this domain, and may it install `version` (D17)?"""
    domain = normalize_domain(domain)
    released_at = None
    if version is not None:
        release = RELEASE_DATE.first(version=version)
        if release is None:
            raise Invalid.field(
                "version", "The version is not a published release.", code="VERSION_UNKNOWN"
            )
        released_at = release.released_at
    facts = facts_of(license_facts(key))
    return validate_license(facts, domain=domain, release_published_at=released_at)


FACTS = PreparedRead(LICENSE_FACTS)


def license_facts(key: str, read: PreparedRead = FACTS) -> Any:
    """The row `read` (FACTS, or one of LICENSE_FACTS with more columns) finds for this key,
    or None for no license (malformed keys included). Committed data only: it reads outside
    the session's transaction."""
    canonical = canonical_license_key(key)
    if canonical is None:
        return None
    return read.first(key=canonical)


def facts_of(row: Any) -> LicenseFacts | None:
    """What validation decides on, from a LICENSE_FACTS row."""
    if row is None:
        return None
    return LicenseFacts(
        domain=row.domain,
        status=LicenseStatus(row.status),
        edition=row.edition_code,
        updates_until=row.updates_until,
        support_until=row.support_until,
    )
