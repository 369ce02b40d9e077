"""`POST /v1/licenses/validate`: what shop installations ask (D17, D3; contract: codes)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.factories import Api, created, import_license, new_customer, ok, problem


def validate(client: FlaskClient, **body: object) -> dict:
    return ok(client.post("/v1/licenses/validate", json=body))


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


def test_valid_key_for_its_domain_needs_no_api_key(client: FlaskClient, shop: dict) -> None:
    answer = validate(client, key=shop["key"], domain="https://www.shop.example.com/admin")
    assert answer == {
        "valid": True,
        "code": "VALID",
        "edition": "premium",
        "updates_until": "2026-03-01T09:00:00Z",
    }


def test_d17_update_allowed_for_releases_up_to_updates_until(
    client: FlaskClient, admin: Api, shop: dict
) -> None:
    created(
        admin.post("/v1/releases", json={"version": "5.0", "released_at": "2026-03-01T09:00:00Z"})
    )
    created(
        admin.post("/v1/releases", json={"version": "5.1", "released_at": "2026-03-01T09:00:01Z"})
    )
    on_the_last_instant = validate(
        client, key=shop["key"], domain="shop.example.com", version="5.0"
    )
    assert on_the_last_instant["update_allowed"] is True
    one_second_later = validate(client, key=shop["key"], domain="shop.example.com", version="5.1")
    assert one_second_later["update_allowed"] is False
    assert one_second_later["valid"] is True  # D17: the license keeps working


def test_unknown_version_is_422_naming_version(client: FlaskClient, shop: dict) -> None:
    response = client.post(
        "/v1/licenses/validate",
        json={"key": shop["key"], "domain": "shop.example.com", "version": "9.9"},
    )
    assert "version" in problem(response, 422, "VERSION_UNKNOWN")["errors"]


def test_other_domain_is_domain_mismatch_without_details(client: FlaskClient, shop: dict) -> None:
    answer = validate(client, key=shop["key"], domain="elsewhere.example.com")
    assert answer == {"valid": False, "code": "DOMAIN_MISMATCH"}


@pytest.mark.parametrize(
    "key",
    ["", "X", "AAAAA-AAAAA-AAAAA-AAAAA-AAAAA", "' OR 1=1 --", "ключ", "0" * 101, "K" * 20_000],
)
def test_any_key_matching_nothing_is_not_found(client: FlaskClient, key: str) -> None:
    response = client.post("/v1/licenses/validate", json={"key": key, "domain": "shop.example.com"})
    if key == "":
        assert "key" in problem(response, 422, "VALIDATION_FAILED")["errors"]
    else:
        assert ok(response) == {"valid": False, "code": "NOT_FOUND"}


def test_missing_key_or_domain_is_422(client: FlaskClient) -> None:
    errors = problem(client.post("/v1/licenses/validate", json={}), 422, "VALIDATION_FAILED")[
        "errors"
    ]
    assert set(errors) == {"key", "domain"}


def test_revoked_and_suspended_licenses(app, client: FlaskClient, shop: dict) -> None:
    from sqlalchemy import update

    from licensing.adapters.models import License
    from licensing.extensions import db

    for status, code in (("suspended", "SUSPENDED"), ("revoked", "REVOKED")):
        with app.app_context():
            db.session.execute(
                update(License).where(License.key == shop["key"]).values(status=status)
            )
            db.session.commit()
        assert validate(client, key=shop["key"], domain="shop.example.com") == {
            "valid": False,
            "code": code,
        }
