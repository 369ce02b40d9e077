"""`POST /v1/licenses/certificate` and the published keys (D22, D23; contract: certificates)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import jwt
import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from licensing import create_app
from licensing.adapters.models import License
from licensing.extensions import db
from licensing.verifier import verify_certificate
from tests.api.test_refunds_and_cancellation import charge_refunded, paid_purchase
from tests.conftest import dispose, settings_for
from tests.factories import Api, created, import_license, new_customer, ok, problem

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
CERTIFICATE = "/v1/licenses/certificate"


@pytest.fixture
def shop(admin: Api) -> dict:
    customer = new_customer(admin)
    return import_license(
        admin,
        customer_id=customer["id"],
        domain="shop.example.com",
        edition="premium",
        purchased_at="2025-03-01T09:00:00Z",
    )


def ask(client: FlaskClient, key: str, domain: str = "shop.example.com") -> dict:
    return ok(client.post(CERTIFICATE, json={"key": key, "domain": domain}))


def set_status(app: Flask, key: str, status: str) -> None:
    with app.app_context():
        db.session.execute(update(License).where(License.key == key).values(status=status))
        db.session.commit()


def test_d22_a_certificate_states_exactly_the_contracts_claims(
    client: FlaskClient, admin: Api, shop: dict
) -> None:
    for version, at in (("5.0", "2026-02-01T00:00:00Z"), ("5.1", "2026-03-01T09:00:01Z")):
        created(admin.post("/v1/releases", json={"version": version, "released_at": at}))
    with time_machine.travel(NOW, tick=False):
        answer = ask(client, shop["key"], "https://www.SHOP.example.com/admin")
    keys = ok(client.get("/v1/signing-keys"))
    assert set(answer) == {"valid", "code", "certificate", "expires_at"}
    assert (answer["valid"], answer["code"]) == (True, "VALID")
    assert answer["expires_at"] == "2026-07-01T12:00:00Z"
    header = jwt.get_unverified_header(answer["certificate"])
    assert header == {"alg": "EdDSA", "kid": keys["keys"][0]["kid"], "typ": "JWT"}
    key = jwt.PyJWKSet.from_dict(keys)[header["kid"]]
    claims = jwt.decode(
        answer["certificate"], key, algorithms=["EdDSA"], options={"verify_exp": False}
    )
    assert claims == {
        "iss": "licensing",
        "sub": shop["key"],
        "domain": "shop.example.com",
        "edition": "premium",
        "status": "active",
        "support_until": shop["support_until"],
        "updates_until": "2026-03-01T09:00:00Z",
        "newest_allowed_release": "5.0",  # D17: 5.1 came a second after updates_until
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 30 * 86400,
    }


def test_d22_without_any_release_the_newest_allowed_is_null(
    client: FlaskClient, shop: dict
) -> None:
    answer = ask(client, shop["key"])
    claims = jwt.decode(answer["certificate"], options={"verify_signature": False})
    assert claims["newest_allowed_release"] is None


def test_d22_unknown_keys_and_other_domains_get_no_certificate(
    client: FlaskClient, shop: dict
) -> None:
    assert ask(client, "AAAAA-AAAAA-AAAAA-AAAAA-AAAAA") == {"valid": False, "code": "NOT_FOUND"}
    assert ask(client, "' OR 1=1 --") == {"valid": False, "code": "NOT_FOUND"}
    assert ask(client, "K" * 101) == {"valid": False, "code": "NOT_FOUND"}
    assert ask(client, shop["key"], "elsewhere.example.com") == {
        "valid": False,
        "code": "DOMAIN_MISMATCH",
    }


def test_d22_suspended_and_revoked_licenses_get_no_certificate(
    app: Flask, client: FlaskClient, shop: dict
) -> None:
    for status, code in (("suspended", "SUSPENDED"), ("revoked", "REVOKED")):
        set_status(app, shop["key"], status)
        assert ask(client, shop["key"]) == {"valid": False, "code": code}
        # The same answer validate gives: one decision.
        validated = ok(
            client.post(
                "/v1/licenses/validate", json={"key": shop["key"], "domain": "shop.example.com"}
            )
        )
        assert validated == {"valid": False, "code": code}


def test_d22_a_refunded_purchase_gets_no_certificate(
    client: FlaskClient, checkout: Api, admin: Api, gateway
) -> None:
    order = paid_purchase(client, checkout, admin, "refunded.example.com")
    key = order["license_key"]
    assert ask(client, key, "refunded.example.com")["valid"] is True
    charge_refunded(client, order)
    assert ask(client, key, "refunded.example.com") == {"valid": False, "code": "REVOKED"}


def test_d22_a_domain_that_is_none_is_422_naming_domain(client: FlaskClient, shop: dict) -> None:
    response = client.post(CERTIFICATE, json={"key": shop["key"], "domain": "10.0.0.1"})
    assert "domain" in problem(response, 422, "DOMAIN_INVALID")["errors"]
    response = client.post(CERTIFICATE, json={"domain": "shop.example.com"})
    assert "key" in problem(response, 422, "VALIDATION_FAILED")["errors"]


def test_d23_both_addresses_publish_the_same_key_set(client: FlaskClient, shop: dict) -> None:
    published = ok(client.get("/v1/signing-keys"))
    assert ok(client.get("/.well-known/jwks.json")) == published
    (current,) = published["keys"]
    assert set(current) == {"kty", "crv", "x", "kid", "use", "alg"}
    assert (current["kty"], current["crv"], current["use"], current["alg"]) == (
        "OKP",
        "Ed25519",
        "sig",
        "EdDSA",
    )
    certificate = ask(client, shop["key"])["certificate"]
    allowed = verify_certificate(certificate, published, "www.shop.example.com")
    assert (allowed.edition, allowed.kid) == ("premium", current["kid"])


@pytest.fixture
def limited_app(backend) -> Iterator[Flask]:
    """The same migrated database, served by an app allowing 3 checks a minute."""
    url = backend.app.config["SQLALCHEMY_DATABASE_URI"]
    app = create_app(settings_for(url, validate_rate_limit="3/minute"))
    yield app
    dispose(app)


def test_d22_certificates_share_validates_rate_limit(limited_app: Flask) -> None:
    client = limited_app.test_client()
    address = {"REMOTE_ADDR": "10.9.0.1"}
    body = {"key": "KEY-1", "domain": "shop.example.com"}
    assert client.post(CERTIFICATE, json=body, environ_base=address).status_code == 200
    assert client.post("/v1/licenses/validate", json=body, environ_base=address).status_code == 200
    assert client.post(CERTIFICATE, json=body, environ_base=address).status_code == 200
    response = client.post(CERTIFICATE, json=body, environ_base=address)
    problem(response, 429, "RATE_LIMITED")
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    # Per key too, from any address.
    other = {"key": "KEY-2", "domain": "shop.example.com"}
    for n in range(3):
        client.post(CERTIFICATE, json=other, environ_base={"REMOTE_ADDR": f"10.9.1.{n}"})
    again = client.post(CERTIFICATE, json=other, environ_base={"REMOTE_ADDR": "10.9.2.1"})
    problem(again, 429, "RATE_LIMITED")
