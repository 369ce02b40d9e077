"""License certificates for shop installations (D22) and the published signing keys (D23)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from licensing.api.auth import public
from licensing.api.blueprint import Blueprint
from licensing.api.fields import Instant
from licensing.api.rate_limits import rate_limited
from licensing.api.shared_schemas import OmitNoneSchema, ShopCheckSchema, present
from licensing.clock import utcnow
from licensing.domain.periods import rfc3339_or_none
from licensing.services import certificates
from licensing.services.certificates import CertificateIssue

blp = Blueprint("certificates", __name__, description="License certificates and signing keys")


class CertificateRequestSchema(ShopCheckSchema):
    """The license key and the domain of the installation asking."""


class CertificateSchema(OmitNoneSchema):
    OPTIONAL = ("certificate", "expires_at")

    valid = ma.fields.Boolean(required=True)
    code = ma.fields.String(required=True)
    certificate = ma.fields.String(
        metadata={
            "description": "D22: a JWT (JWS compact) signed with EdDSA over Ed25519; its "
            "header's `kid` names the key in the published JWK Set (D23)"
        }
    )
    expires_at = Instant(metadata={"description": "the certificate's `exp`: 30 days after issue"})


def certificate_answer(issue: CertificateIssue) -> dict[str, Any]:
    """`CertificateSchema`'s dump, written out for the hot path (issue 20)."""
    return {"valid": issue.valid, "code": issue.code} | present(
        certificate=issue.certificate, expires_at=rfc3339_or_none(issue.expires_at)
    )


class PublicJwkSchema(ma.Schema):
    kty = ma.fields.String(required=True, metadata={"enum": ["OKP"]})
    crv = ma.fields.String(required=True, metadata={"enum": ["Ed25519"]})
    x = ma.fields.String(required=True, metadata={"description": "the public key, base64url"})
    kid = ma.fields.String(required=True, metadata={"description": "its RFC 7638 thumbprint"})
    use = ma.fields.String(required=True, metadata={"enum": ["sig"]})
    alg = ma.fields.String(required=True, metadata={"enum": ["EdDSA"]})


class KeySetSchema(ma.Schema):
    keys = ma.fields.List(ma.fields.Nested(PublicJwkSchema), required=True)


@blp.route("/v1/licenses/certificate")
class LicenseCertificate(MethodView):
    @public
    @rate_limited
    @blp.lean_arguments(CertificateRequestSchema())
    @blp.lean_response(200, CertificateSchema(), certificate_answer)
    def post(self, body: dict[str, Any]) -> Any:
        """Called by shop installations: a signed statement of what the license allows on this
        domain, valid 30 days (D22); validate's refusals get no certificate."""
        return certificates.issue_certificate(
            license_key=body["key"], domain=body["domain"], now=utcnow()
        )


@blp.route("/v1/signing-keys")
class SigningKeys(MethodView):
    @public
    @blp.response(200, KeySetSchema)
    def get(self) -> Any:
        """The public keys certificates are signed with, the current one first (D23)."""
        return certificates.published_keys()


@blp.route("/.well-known/jwks.json")
class WellKnownKeys(MethodView):
    @public
    @blp.response(200, KeySetSchema)
    def get(self) -> Any:
        """The same JWK Set at its conventional address (D23)."""
        return certificates.published_keys()
