"""Every route in the OpenAPI document, called with no key, a key without its scope and a key
with it: 401, 403, and an answer past authentication (never 500), as the contract says."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.factories import Api, make_key, new_partner, problem

VENDOR_SCOPES = ("checkout", "helpdesk", "finance")


def _operations(client: FlaskClient) -> list[tuple[str, str, list[str]]]:
    document = client.get("/v1/openapi.json").get_json()
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "patch", "delete"}:
                assert "x-scopes" in operation, f"{method} {path} declares no scopes"
                found.append((method, path, operation["x-scopes"]))
    return found


def _call(api: Api, method: str, path: str) -> Any:
    if method in {"post", "put", "patch"}:
        return getattr(api, method)(path, json={})
    return api.get(path)


def test_every_route_checks_key_then_scope(app: Flask, client: FlaskClient, admin: Api) -> None:
    partner_id = new_partner(admin)["id"]
    keys = {scope: make_key(app, scope) for scope in VENDOR_SCOPES}
    keys[f"partner:{partner_id}"] = make_key(app, f"partner:{partner_id}")
    keys["partner:other"] = make_key(app, f"partner:{partner_id + 1000}")
    values = {
        "{key}": "NOPE",
        "{code}": "pro",
        "{customer_id}": "1",
        "{partner_id}": str(partner_id),
    }
    operations = _operations(client)
    assert len(operations) >= 15
    for method, template, scopes in operations:
        path = template
        for placeholder, value in values.items():
            path = path.replace(placeholder, value)
        path = re.sub(r"\{\w+_id\}", "1", path)
        anonymous = _call(Api(client, None), method, path)
        if not scopes:
            assert anonymous.status_code not in (401, 403, 500), (method, path)
            continue
        problem(anonymous, 401, "UNAUTHENTICATED")
        assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
        problem(_call(Api(client, "lk_unknown_key"), method, path), 401, "UNAUTHENTICATED")
        allowed = {
            name
            for name in keys
            if name in scopes
            or ("partner:*" in scopes and name.startswith("partner:"))
            or (name == f"partner:{partner_id}" and "partner:{partner_id}" in scopes)
        }
        for name, key in keys.items():
            answer = _call(Api(client, key), method, path)
            if name in allowed:
                assert answer.status_code not in (401, 403, 500), (
                    method,
                    path,
                    name,
                    answer.get_json(),
                )
            else:
                problem(answer, 403, "FORBIDDEN")
        admin_answer = _call(admin, method, path)
        assert admin_answer.status_code not in (401, 403, 500), (method, path)


def test_revoked_key_is_401(app: Flask, client: FlaskClient) -> None:
    from licensing.clock import utcnow
    from licensing.services.api_keys import revoke_api_key

    key = make_key(app, "helpdesk")
    api = Api(client, key)
    assert api.get("/v1/editions").status_code == 200
    with app.app_context():
        revoke_api_key(public_id=key.split("_")[1], now=utcnow())
    problem(api.get("/v1/editions"), 401, "UNAUTHENTICATED")


def test_scope_is_checked_before_the_body_is_parsed(app: Flask, client: FlaskClient) -> None:
    """Contract: authentication and scope come before parsing or validation."""
    helpdesk = Api(client, make_key(app, "helpdesk"))
    response = helpdesk.post(
        "/v1/customers", data="{broken", headers={"Content-Type": "application/json"}
    )
    problem(response, 403, "FORBIDDEN")
    anonymous = Api(client, None).post(
        "/v1/customers", data="<xml/>", headers={"Content-Type": "text/xml"}
    )
    problem(anonymous, 401, "UNAUTHENTICATED")


def test_malformed_authorization_headers_are_401(client: FlaskClient) -> None:
    for header in ("", "Bearer", "Bearer ", "Basic abc", "lk_x_y", "Bearer lk__", "Bearer lk_x"):
        response = client.get("/v1/editions", headers={"Authorization": header})
        problem(response, 401, "UNAUTHENTICATED")


def test_d26_partner_keys_open_and_read_customers_and_sell_only_in_their_own_name(
    client: FlaskClient,
) -> None:
    """The scopes the customer and partner-sale routes publish (what they then show a partner
    key, only its own customers, is in tests/api/test_partner_customers.py)."""
    scopes = {(method, path): s for method, path, s in _operations(client)}
    assert scopes[("post", "/v1/customers")] == ["admin", "checkout", "partner:*"]
    for path in ("/v1/customers/{customer_id}", "/v1/customers/{customer_id}/licenses"):
        assert scopes[("get", path)] == ["admin", "checkout", "finance", "helpdesk", "partner:*"]
    assert scopes[("post", "/v1/partners/{partner_id}/licenses")] == [
        "admin",
        "partner:{partner_id}",
    ]
