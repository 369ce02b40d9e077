"""Validation of a license key by a shop installation (contract: `POST /v1/licenses/validate`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, Select, bindparam, select

from licensing.adapters.models import License, Release
from licensing.domain.domains import normalize_domain
from licensing.domain.errors import Invalid
from licensing.domain.license_keys import canonical_license_key
from licensing.domain.licenses import LicenseFacts, LicenseStatus, Validation, validate_license
from licensing.extensions import db

# Built once with bound parameters: each call only binds values (the hot path, issue 9).
RELEASE_DATE = select(Release.released_at).where(Release.version == bindparam("version"))
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
        released_at = db.session.execute(RELEASE_DATE, {"version": version}).scalar_one_or_none()
        if released_at is None:
            raise Invalid.field(
                "version", "The version is not a published release.", code="VERSION_UNKNOWN"
            )
    facts = facts_of(license_facts(key))
    return validate_license(facts, domain=domain, release_published_at=released_at)


def license_facts(key: str, statement: Select[Any] = LICENSE_FACTS) -> Row[Any] | None:
    """The row `statement` (LICENSE_FACTS, or one with more columns) finds for this key, or
    None for no license (malformed keys included)."""
    canonical = canonical_license_key(key)
    if canonical is None:
        return None
    return db.session.execute(statement, {"key": canonical}).one_or_none()


def facts_of(row: Row[Any] | None) -> LicenseFacts | None:
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
