"""Verify a license certificate offline (D22), as a tool or an installation written in Python
would: PyJWT and the published JWK Set only, no call to the service.

    allowance = verify_certificate(certificate, jwks, "shop.example.com")
    allowance.edition, allowance.updates_until, allowance.newest_allowed_release

Any failure raises `CertificateRejected` with a stable `code`: KEY_UNKNOWN (no published key
has the certificate's `kid`), SIGNATURE_INVALID (tampered, or another key), EXPIRED,
DOMAIN_MISMATCH, MALFORMED.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from licensing.clock import utcnow
from licensing.domain.domains import normalize_domain
from licensing.domain.errors import Invalid

ALGORITHMS = ["EdDSA"]
REQUIRED = ["iss", "sub", "exp", "iat", "domain", "edition", "support_until", "updates_until"]


class CertificateRejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True)
class Allowance:
    """What the certificate says the license allows on its domain."""

    license_key: str
    domain: str
    edition: str
    status: str
    support_until: datetime
    updates_until: datetime
    newest_allowed_release: str | None
    issued_at: datetime
    expires_at: datetime
    kid: str


def verify_certificate(
    certificate: str,
    jwks: Mapping[str, Any],
    domain: str,
    *,
    now: datetime | None = None,
    issuer: str = "licensing",
) -> Allowance:
    """The certificate's claims once its signature (by `kid`), issuer, expiry at `now`
    (default: `utcnow()`) and domain (normalized as the service does, D3) are checked."""
    kid = _kid(certificate)
    key = _published_key(jwks, kid)
    try:
        claims = jwt.decode(
            certificate,
            key,
            algorithms=ALGORITHMS,
            issuer=issuer,
            options={"require": REQUIRED, "verify_exp": False, "verify_iat": False},
        )
    except jwt.InvalidSignatureError as error:
        raise CertificateRejected("SIGNATURE_INVALID", str(error)) from None
    except jwt.PyJWTError as error:
        raise CertificateRejected("MALFORMED", str(error)) from None
    moment = now or utcnow()
    expires_at = _time_claim(claims, "exp")
    if moment >= expires_at:
        raise CertificateRejected("EXPIRED", f"the certificate expired at {expires_at}")
    try:
        normalized = normalize_domain(domain)
    except Invalid as error:
        raise CertificateRejected("DOMAIN_MISMATCH", error.detail) from None
    if normalized != claims["domain"]:
        raise CertificateRejected("DOMAIN_MISMATCH", "the certificate is for another domain")
    try:
        return _allowance(claims, expires_at=expires_at, kid=kid)
    except (TypeError, ValueError, AttributeError) as error:  # a claim of the wrong type
        raise CertificateRejected("MALFORMED", f"a claim is not usable ({error})") from None


def _allowance(claims: Mapping[str, Any], *, expires_at: datetime, kid: str) -> Allowance:
    return Allowance(
        license_key=claims["sub"],
        domain=claims["domain"],
        edition=claims["edition"],
        status=claims.get("status", "active"),
        support_until=_instant(claims["support_until"]),
        updates_until=_instant(claims["updates_until"]),
        newest_allowed_release=claims.get("newest_allowed_release"),
        issued_at=_time_claim(claims, "iat"),
        expires_at=expires_at,
        kid=kid,
    )


def _kid(certificate: str) -> str:
    try:
        header = jwt.get_unverified_header(certificate)
    except jwt.PyJWTError as error:
        raise CertificateRejected("MALFORMED", str(error)) from None
    kid = header.get("kid")
    if header.get("alg") != "EdDSA" or not isinstance(kid, str):
        raise CertificateRejected("MALFORMED", "the header must name alg EdDSA and a kid")
    return kid


def _published_key(jwks: Mapping[str, Any], kid: str) -> Any:
    try:
        keys = jwt.PyJWKSet.from_dict(dict(jwks))
    except jwt.PyJWTError as error:
        raise CertificateRejected("MALFORMED", f"the JWK Set is not usable ({error})") from None
    for jwk in keys.keys:
        if jwk.key_id == kid:
            return jwk.key
    raise CertificateRejected("KEY_UNKNOWN", f"no published key has kid {kid!r}")


def _time_claim(claims: Mapping[str, Any], name: str) -> datetime:
    """A NumericDate claim (RFC 7519): an integer number of seconds; anything else, or one
    out of a datetime's range, is a malformed certificate, never a TypeError."""
    value = claims[name]
    if not isinstance(value, int) or isinstance(value, bool):
        raise CertificateRejected("MALFORMED", f"the {name} claim must be an integer")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise CertificateRejected("MALFORMED", f"the {name} claim is out of range") from None


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
