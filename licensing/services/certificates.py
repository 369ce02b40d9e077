"""License certificates for shop installations (D22) and the published signing keys (D23).

A certificate is refused exactly when `validate` would refuse the key for that domain:
the decision is validation's (`domain/licenses.py`), made on the same facts; only a VALID
answer is signed. Nothing is written: a certificate is a statement, not a record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from licensing.adapters.models import License, Release
from licensing.adapters.prepared import PreparedRead
from licensing.adapters.signing import PublicJwk, current_signer
from licensing.domain.certificates import certificate_claims, certificate_expiry
from licensing.domain.domains import normalize_domain
from licensing.domain.licenses import ValidationCode, validate_license
from licensing.services.catalog import newest_release_on_or_before
from licensing.services.validation import LICENSE_FACTS, facts_of, license_facts

# One statement (the hot path): validate's facts and D17's newest allowed release.
CERTIFICATE_FACTS = PreparedRead(
    LICENSE_FACTS.add_columns(
        newest_release_on_or_before(License.updates_until, Release.version)
        .scalar_subquery()
        .label("newest_release")
    )
)


@dataclass(frozen=True)
class CertificateIssue:
    """The answer to a certificate request: the certificate only when `valid`."""

    code: ValidationCode
    certificate: str | None = None
    expires_at: datetime | None = None

    @property
    def valid(self) -> bool:
        return self.code is ValidationCode.VALID


@dataclass(frozen=True)
class KeySet:
    """D23: the JWK Set of every public key a unexpired certificate may name."""

    keys: tuple[PublicJwk, ...]


def issue_certificate(*, license_key: str, domain: str, now: datetime) -> CertificateIssue:
    """D22: a certificate of what the license allows on `domain`, valid 30 days from `now`,
    or validate's refusal (NOT_FOUND, REVOKED, SUSPENDED, DOMAIN_MISMATCH) and none.

    `domain` is normalized as everywhere (D3); one that is not a domain raises `Invalid`."""
    domain = normalize_domain(domain)
    row = license_facts(license_key, CERTIFICATE_FACTS)
    facts = facts_of(row)
    decision = validate_license(facts, domain=domain)
    if not decision.valid or row is None or facts is None:
        return CertificateIssue(decision.code)
    signer = current_signer()
    claims = certificate_claims(
        issuer=signer.issuer,
        license_key=row.key,
        license=facts,
        newest_allowed_release=row.newest_release,
        now=now,
    )
    return CertificateIssue(
        ValidationCode.VALID,
        certificate=signer.sign(claims),
        expires_at=certificate_expiry(now),
    )


def published_keys() -> KeySet:
    """D23: the current key first, then every retired key still published."""
    return KeySet(current_signer().public_keys())
