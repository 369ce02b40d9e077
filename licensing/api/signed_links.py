"""Signed, expiring links to the pages for people (a quote, a report), issued and read alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer

from licensing.clock import utcnow
from licensing.domain.errors import NotFound


@dataclass(frozen=True)
class IssuedLink:
    """A link as it is shown (`SignedLinkSchema`): where, and until when it opens its page."""

    url: str
    expires_at: datetime


@dataclass(frozen=True)
class SignedLink:
    """A kind of link: its salt keeps one kind's tokens from opening another kind's page."""

    salt: str
    lifetime: timedelta

    def issue(self, path: str, claims: dict[str, Any]) -> IssuedLink:
        """A link to the page at `path` carrying `claims`."""
        expires = utcnow() + self.lifetime
        token = self.serializer().dumps({**claims, "exp": int(expires.timestamp())})
        return IssuedLink(f"{request.host_url}{path}?token={token}", expires)

    def claims(self, **expected: Any) -> dict[str, Any]:
        """The claims of this request's `token`, which must carry `expected` (the page's own
        id); 404 LINK_INVALID when it is forged, for another page, or expired."""
        try:
            claims: dict[str, Any] = self.serializer().loads(request.args.get("token", ""))
        except BadSignature:
            raise NotFound("This link is not valid.", code="LINK_INVALID") from None
        if any(claims.get(name) != value for name, value in expected.items()):
            raise NotFound("This link is not valid.", code="LINK_INVALID")
        if utcnow().timestamp() > claims.get("exp", 0):
            raise NotFound("This link has expired.", code="LINK_INVALID")
        return claims

    def serializer(self) -> URLSafeSerializer:
        return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=self.salt)


QUOTE_PAGE = SignedLink(salt="quote-page", lifetime=timedelta(days=30))
RENEWALS_REPORT_PAGE = SignedLink(salt="renewals-report", lifetime=timedelta(days=7))
