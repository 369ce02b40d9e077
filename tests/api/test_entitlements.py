"""`GET /v1/entitlements`: one row per code and department, built through the public API
only (R4-R13, D9-D11, D14)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from licensing.extensions import db
from tests.factories import (
    Api,
    created,
    import_license,
    make_key,
    new_customer,
    new_partner,
    ok,
    problem,
)
from tests.fakes import FakeGateway, charge, intent, signed, stripe_event

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday, 15:00 in Moscow: desk open
RECENT = "2026-11-20T09:00:00Z"  # support until 2026-12-20T09:00:00Z
OLD = "2025-06-01T09:00:00Z"  # support ended 2025-07-01


@pytest.fixture
def helpdesk(app: Flask, client: FlaskClient) -> Api:
    return Api(client, make_key(app, "helpdesk"))


def ask(
    helpdesk: Api, customer_id: int, department: str = "technical_support", **query: str
) -> dict[str, Any]:
    params = "&".join(
        f"{k}={v}"
        for k, v in {
            "customer_id": customer_id,
            "department": department,
            "at": "2026-11-26T12:00:00Z",
            **query,
        }.items()
    )
    return ok(helpdesk.get(f"/v1/entitlements?{params}"))


@pytest.fixture
def world(
    app: Flask, client: FlaskClient, admin: Api, checkout: Api, gateway: FakeGateway
) -> dict[str, Any]:
    """Customers and licenses for every code, all made through the API."""
    with time_machine.travel(NOW - timedelta(hours=1), tick=False):
        premium = new_customer(admin)
        import_license(
            admin,
            customer_id=premium["id"],
            domain="premium.example.com",
            edition="premium",
            purchased_at=RECENT,
        )
        import_license(
            admin,
            customer_id=premium["id"],
            domain="old.example.com",
            edition="pro",
            purchased_at=OLD,
        )
        partner = new_partner(admin, support_url="https://partner.example/help")
        import_license(
            admin,
            customer_id=premium["id"],
            domain="resold.example.com",
            channel="partner",
            partner_id=partner["id"],
            purchased_at=RECENT,
        )
        nobody = new_customer(admin)
        banned = new_customer(admin)
        import_license(
            admin, customer_id=banned["id"], domain="banned.example.com", purchased_at=RECENT
        )
        ban = created(
            Api(client, make_key(app, "helpdesk")).post(
                "/v1/bans", json={"customer_id": banned["id"], "reason": "abuse", "note": "insults"}
            )
        )
        refunded = new_customer(admin)
        order = created(
            checkout.post(
                "/v1/orders",
                json={
                    "kind": "purchase",
                    "customer_id": refunded["id"],
                    "edition": "pro",
                    "domain": "refunded.example.com",
                },
            )
        )
        pi = order["payment"]["payment_intent_id"]
        for stripe in (
            stripe_event("payment_intent.succeeded", intent(pi, charge="ch_w")),
            stripe_event(
                "charge.refunded", charge(pi, charge_id="ch_w", amount=30000, refunded=30000)
            ),
        ):
            body, headers = signed(stripe)
            assert client.post("/v1/stripe/webhook", data=body, headers=headers).status_code == 200
    return {
        "premium": premium["id"],
        "nobody": nobody["id"],
        "banned": banned["id"],
        "ban": ban,
        "refunded": refunded["id"],
        "partner": partner,
    }


ROWS = [
    # (who, department, domain, allowed, code, priority)
    ("banned", "technical_support", "banned.example.com", False, "BANNED", "pro"),
    ("banned", "consultation", None, False, "BANNED", "pro"),
    ("nobody", "consultation", None, True, "ALLOWED", "standard"),
    ("premium", "consultation", None, True, "ALLOWED", "premium"),
    ("nobody", "technical_support", "premium.example.com", False, "NO_LICENSE", "standard"),
    ("premium", "technical_support", None, False, "DOMAIN_REQUIRED", "premium"),
    (
        "premium",
        "technical_support",
        "nowhere.example.com",
        False,
        "DOMAIN_NOT_LICENSED",
        "premium",
    ),
    (
        "refunded",
        "technical_support",
        "premium.example.com",
        False,
        "NOT_LICENSE_OWNER",
        "standard",
    ),
    ("premium", "technical_support", "resold.example.com", False, "PARTNER_SUPPORTED", "pro"),
    ("refunded", "technical_support", "refunded.example.com", False, "LICENSE_INACTIVE", "pro"),
    ("premium", "technical_support", "old.example.com", False, "SUPPORT_WINDOW_ENDED", "pro"),
    (
        "premium",
        "technical_support",
        "https://WWW.Premium.example.com/",
        True,
        "ALLOWED",
        "premium",
    ),
]


@pytest.mark.parametrize(("who", "department", "domain", "allowed", "code", "priority"), ROWS)
def test_r4_to_r13_one_row_per_code_and_department(
    world: dict[str, Any],
    helpdesk: Api,
    who: str,
    department: str,
    domain: str | None,
    allowed: bool,
    code: str,
    priority: str,
) -> None:
    answer = ask(helpdesk, world[who], department, **({"domain": domain} if domain else {}))
    assert (answer["allowed"], answer["code"], answer["priority"]) == (allowed, code, priority)
    assert answer["department"] == department
    assert answer["paid_work"] == {"rate_per_hour": {"amount": 3000, "currency": "USD"}}  # R14
    assert answer["desk"] == {
        "open_now": True,
        "next_opening": "2026-11-26T12:00:00Z",
        "clock_starts_at": "2026-11-26T12:00:00Z",
        "first_response_due": "2026-11-27T12:00:00Z",
    }
    if code == "BANNED":
        assert answer["ban"] == {"id": world["ban"]["id"], "reason": "abuse", "ends_at": None}
    if code == "PARTNER_SUPPORTED":
        partner = world["partner"]
        assert answer["partner"] == {
            "id": partner["id"],
            "name": partner["name"],
            "support_email": partner["support_email"],
            "support_url": "https://partner.example/help",
        }
    if code in ("NOT_LICENSE_OWNER", "DOMAIN_NOT_LICENSED", "NO_LICENSE"):
        assert "license" not in answer  # never another account's license
    if code == "ALLOWED" and department == "technical_support":
        assert (
            answer["license"]["edition"] == "premium" and answer["domain"] == "premium.example.com"
        )
        assert answer["license"]["support_until"] == "2026-12-20T09:00:00Z"


def test_d14_support_until_is_inclusive_one_second_later_is_over(
    world: dict[str, Any], helpdesk: Api
) -> None:
    at_end = ask(
        helpdesk, world["premium"], domain="premium.example.com", at="2026-12-20T09:00:00Z"
    )
    after = ask(helpdesk, world["premium"], domain="premium.example.com", at="2026-12-20T09:00:01Z")
    assert (at_end["code"], after["code"]) == ("ALLOWED", "SUPPORT_WINDOW_ENDED")


def test_d11_a_ban_applies_before_its_end_not_at_it_and_at_answers_as_it_stood(
    app: Flask, client: FlaskClient, admin: Api, helpdesk: Api
) -> None:
    customer = new_customer(admin)["id"]
    with time_machine.travel(NOW, tick=False):
        ban = created(
            helpdesk.post(
                "/v1/bans",
                json={
                    "customer_id": customer,
                    "reason": "spam",
                    "note": "copies",
                    "ends_at": "2026-12-01T00:00:00Z",
                },
            )
        )
    assert ban["starts_at"] == "2026-11-26T12:00:00Z" and ban["set_by"].startswith("api_key:")
    before = ask(helpdesk, customer, "consultation", at="2026-11-26T11:59:59Z")
    during = ask(helpdesk, customer, "consultation", at="2026-11-30T23:59:59Z")
    at_end = ask(helpdesk, customer, "consultation", at="2026-12-01T00:00:00Z")
    assert (before["code"], during["code"], at_end["code"]) == ("ALLOWED", "BANNED", "ALLOWED")
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        lifted = ok(helpdesk.post(f"/v1/bans/{ban['id']}/lift"))
    assert lifted["lifted_at"] == "2026-11-27T12:00:00Z"
    assert ask(helpdesk, customer, "consultation", at="2026-11-27T11:59:59Z")["code"] == "BANNED"
    assert ask(helpdesk, customer, "consultation", at="2026-11-27T12:00:00Z")["code"] == "ALLOWED"
    history = ok(helpdesk.get(f"/v1/customers/{customer}"))["history"]
    assert [(e["type"], e["actor"] == ban["set_by"]) for e in history] == [
        ("ban_set", True),
        ("ban_lifted", True),
    ]
    listed = ok(helpdesk.get(f"/v1/customers/{customer}/bans"))["items"]
    assert [b["id"] for b in listed] == [ban["id"]]
    problem(helpdesk.post(f"/v1/bans/{ban['id']}/lift"), 409, "BAN_ALREADY_LIFTED")


def test_ban_input_is_validated(admin: Api, helpdesk: Api) -> None:
    customer = new_customer(admin)["id"]
    past = {
        "customer_id": customer,
        "reason": "abuse",
        "note": "x",
        "ends_at": "2020-01-01T00:00:00Z",
    }
    assert (
        "ends_at"
        in problem(helpdesk.post("/v1/bans", json=past), 422, "VALIDATION_FAILED")["errors"]
    )
    bad = {"customer_id": customer, "reason": "rude", "note": "x"}
    assert (
        "reason" in problem(helpdesk.post("/v1/bans", json=bad), 422, "VALIDATION_FAILED")["errors"]
    )
    problem(
        helpdesk.post("/v1/bans", json={**bad, "reason": "spam", "customer_id": 999999}),
        404,
        "CUSTOMER_NOT_FOUND",
    )
    problem(helpdesk.post("/v1/bans/999999/lift"), 404, "BAN_NOT_FOUND")


def test_r10_version_current_and_unknown_version(
    world: dict[str, Any], admin: Api, helpdesk: Api
) -> None:
    created(
        admin.post("/v1/releases", json={"version": "5.0", "released_at": "2026-01-01T00:00:00Z"})
    )
    created(
        admin.post("/v1/releases", json={"version": "5.1", "released_at": "2026-06-01T00:00:00Z"})
    )
    assert (
        ask(helpdesk, world["premium"], domain="premium.example.com", version="5.1")[
            "version_current"
        ]
        is True
    )
    assert (
        ask(helpdesk, world["premium"], domain="premium.example.com", version="5.0")[
            "version_current"
        ]
        is False
    )
    response = helpdesk.get(
        f"/v1/entitlements?customer_id={world['premium']}&department=technical_support&version=9.9"
    )
    assert "version" in problem(response, 422, "VERSION_UNKNOWN")["errors"]


def test_bad_queries_are_422_naming_the_field(world: dict[str, Any], helpdesk: Api) -> None:
    for query, field in (
        ("department=technical_support", "customer_id"),
        (f"customer_id={world['premium']}&department=sales", "department"),
        (f"customer_id={world['premium']}&department=technical_support&domain=localhost", "domain"),
        (f"customer_id={world['premium']}&department=technical_support&at=noon", "at"),
    ):
        response = helpdesk.get(f"/v1/entitlements?{query}")
        assert response.status_code == 422 and field in response.get_json()["errors"], query
    problem(
        helpdesk.get("/v1/entitlements?customer_id=999999&department=consultation"),
        404,
        "CUSTOMER_NOT_FOUND",
    )


def test_the_hot_path_issues_at_most_two_sql_statements(app: Flask, world: dict[str, Any]) -> None:
    from licensing.domain.entitlements import Department
    from licensing.services.entitlements import entitlement

    with app.app_context():
        statements: list[str] = []

        def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            answer = entitlement(
                customer_id=world["premium"],
                department=Department.TECHNICAL_SUPPORT,
                domain="premium.example.com",
                version=None,
                at=NOW,
            )
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert answer.decision.code == "ALLOWED"
    assert len(statements) <= 2, statements
