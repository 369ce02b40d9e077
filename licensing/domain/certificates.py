"""What a license certificate states (D22): the claims, decided here; signing is an adapter's."""

from __future__ import annotations

from datetime import datetime, timedelta

from licensing.domain.licenses import LicenseFacts
from licensing.domain.periods import ensure_utc, rfc3339

CERTIFICATE_LIFETIME = timedelta(days=30)


def certificate_expiry(now: datetime) -> datetime:
    """D22: a certificate is valid 30 days from its issue (to the whole second)."""
    return ensure_utc(now).replace(microsecond=0) + CERTIFICATE_LIFETIME


def certificate_claims(
    *,
    issuer: str,
    license_key: str,
    license: LicenseFacts,
    newest_allowed_release: str | None,
    now: datetime,
) -> dict[str, object]:
    """D22: what one license allows on its domain at `now`, valid 30 days (`exp`).

    Dates are RFC 3339 strings, as in every answer; `iat` and `exp` are NumericDates, as
    JWT (RFC 7519) has them, so that any JOSE library checks the expiry itself. The newest
    allowed release is D17's, decided by the caller from the published releases."""
    issued = ensure_utc(now).replace(microsecond=0)
    return {
        "iss": issuer,
        "sub": license_key,
        "domain": license.domain,
        "edition": license.edition,
        "status": license.status.value,
        "support_until": rfc3339(license.support_until),
        "updates_until": rfc3339(license.updates_until),
        "newest_allowed_release": newest_allowed_release,
        "iat": int(issued.timestamp()),
        "exp": int(certificate_expiry(issued).timestamp()),
    }
