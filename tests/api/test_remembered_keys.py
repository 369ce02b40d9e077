"""Entitlements remember an API key per process and confirm it in their own statement
(issue 20): a key revoked by any process is refused on the next request, and a remembered
key costs no statement of its own."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from licensing.clock import utcnow
from licensing.extensions import db
from tests.factories import Api, import_license, make_key, new_customer, ok, problem
from tests.statements import statements_sent


def revoke_elsewhere(app: Flask, key: str) -> None:
    """As another worker (or the CLI) would: a committed row, this process's memory untouched."""
    with app.app_context():
        db.session.execute(
            text("UPDATE api_keys SET revoked_at = :now WHERE public_id = :public_id"),
            {"now": utcnow(), "public_id": key.split("_")[1]},
        )
        db.session.commit()


def test_a_key_revoked_elsewhere_is_401_on_the_next_entitlements_request(
    app: Flask, client: FlaskClient, admin: Api
) -> None:
    customer = new_customer(admin)["id"]
    domain = import_license(admin, customer_id=customer)["domain"]
    helpdesk = Api(client, make_key(app, "helpdesk"))
    path = f"/v1/entitlements?customer_id={customer}&department=technical_support&domain={domain}"
    ok(helpdesk.get(path))  # remembered from here on
    with statements_sent(app) as seen:
        ok(helpdesk.get(path))
    assert len(seen) == 1, seen  # the key rode on the one statement of the answer
    revoke_elsewhere(app, helpdesk.key)
    answer = helpdesk.get(path)
    problem(answer, 401, "UNAUTHENTICATED")
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    problem(helpdesk.get(path), 401, "UNAUTHENTICATED")  # forgotten: the usual lookup now


def test_a_revoked_remembered_key_learns_nothing_about_customers(
    app: Flask, client: FlaskClient, admin: Api
) -> None:
    """401 before 404: an unknown customer does not tell a revoked key anything."""
    customer = new_customer(admin)["id"]
    helpdesk = Api(client, make_key(app, "helpdesk"))
    ok(helpdesk.get(f"/v1/entitlements?customer_id={customer}&department=consultation"))
    revoke_elsewhere(app, helpdesk.key)
    problem(
        helpdesk.get("/v1/entitlements?customer_id=999999&department=consultation"),
        401,
        "UNAUTHENTICATED",
    )
    warranty = f"/v1/entitlements?customer_id={customer}&department=warranty&quote_id=1"
    problem(helpdesk.get(warranty), 401, "UNAUTHENTICATED")


def test_a_wrong_secret_for_a_remembered_key_is_401(
    app: Flask, client: FlaskClient, admin: Api
) -> None:
    customer = new_customer(admin)["id"]
    key = make_key(app, "helpdesk")
    path = f"/v1/entitlements?customer_id={customer}&department=consultation"
    ok(Api(client, key).get(path))
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    problem(Api(client, forged).get(path), 401, "UNAUTHENTICATED")
