"""Paid work through the API: quotes, lifecycle, payment, warranty, the customer's page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from licensing.adapters.models import QuoteEvent
from licensing.extensions import db
from tests.factories import Api, created, import_license, make_key, new_customer, ok, problem
from tests.fakes import FakeGateway, intent, signed, stripe_event

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def helpdesk(app: Flask, client: FlaskClient) -> Api:
    return Api(client, make_key(app, "helpdesk"))


def a_quote(helpdesk: Api, customer_id: int, *lines: dict[str, Any]) -> dict[str, Any]:
    lines = lines or (
        {
            "category": "programming",
            "description": "Import from 1C",
            "hours": 2.5,
            "service": "data_migration",
        },
    )
    return created(
        helpdesk.post("/v1/quotes", json={"customer_id": customer_id, "lines": list(lines)})
    )


def pay(client: FlaskClient, order_id: int, checkout: Api, at: datetime | None = None) -> None:
    order = ok(checkout.get(f"/v1/orders/{order_id}"))
    pi = order["payment"]["payment_intent_id"]
    body, headers = signed(
        stripe_event("payment_intent.succeeded", intent(pi, charge=f"ch_{pi}"), created=at)
    )
    assert client.post("/v1/stripe/webhook", data=body, headers=headers).status_code == 200


def test_r14_d12_draft_quote_at_30_dollars_an_hour(admin: Api, helpdesk: Api) -> None:
    customer = new_customer(admin)
    quote = a_quote(
        helpdesk,
        customer["id"],
        {"category": "layout", "description": "Header", "hours": 1.25},
        {"category": "design", "description": "Logo", "hours": 3},
    )
    assert quote["status"] == "draft" and quote["hours"] == 4.25
    assert quote["rate_per_hour"] == {"amount": 3000, "currency": "USD"}
    assert quote["amount"] == {"amount": 12750, "currency": "USD"}
    assert [line["hours"] for line in quote["lines"]] == [1.25, 3]
    assert quote["history"][0]["type"] == "created"


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(st.integers(1, 40), min_size=1, max_size=6))
def test_d12_for_any_lines_amount_is_sum_of_hours_times_rate(
    admin: Api, helpdesk: Api, lines: list[int]
) -> None:
    customer = new_customer(admin)
    body = [
        {"category": "programming", "description": f"part {n}", "hours": q / 4}
        for n, q in enumerate(lines)
    ]
    quote = a_quote(helpdesk, customer["id"], *body)
    assert quote["amount"]["amount"] == sum(lines) * 3000 // 4
    assert quote["hours"] == sum(lines) / 4


@pytest.mark.parametrize("hours", [0.1, 0, -1, "NaN", "2", None, 1.3])
def test_d12_bad_hours_are_422_naming_the_line_and_field(
    admin: Api, helpdesk: Api, hours: object
) -> None:
    customer = new_customer(admin)
    lines = [
        {"category": "design", "description": "ok", "hours": 1},
        {"category": "design", "description": "bad", "hours": hours},
    ]
    response = helpdesk.post("/v1/quotes", json={"customer_id": customer["id"], "lines": lines})
    assert "lines.1.hours" in problem(response, 422, "VALIDATION_FAILED")["errors"]


def test_nan_in_raw_json_is_422_too(admin: Api, helpdesk: Api) -> None:
    customer = new_customer(admin)
    raw = '{"customer_id": ID, "lines": [{"category": "design", "description": "x", "hours": NaN}]}'
    raw = raw.replace("ID", str(customer["id"]))
    response = helpdesk.post("/v1/quotes", data=raw, headers={"Content-Type": "application/json"})
    assert "lines.0.hours" in problem(response, 422, "VALIDATION_FAILED")["errors"]


def test_r15_services_outside_support_are_listed(helpdesk: Api) -> None:
    codes = {item["code"] for item in ok(helpdesk.get("/v1/paid-work/services"))["items"]}
    assert {"data_migration", "server_move", "version_upgrade", "performance"} <= codes and len(
        codes
    ) == 11


def test_r16_full_lifecycle_and_warranty_edges(
    app: Flask, client: FlaskClient, admin: Api, helpdesk: Api, checkout: Api, gateway: FakeGateway
) -> None:
    customer = new_customer(admin)
    with time_machine.travel(T0, tick=False):
        quote = a_quote(helpdesk, customer["id"])
        sent = ok(helpdesk.post(f"/v1/quotes/{quote['id']}/send"))
    assert sent["status"] == "sent" and sent["valid_until"] == "2026-12-10T12:00:00Z"
    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        accepted = ok(checkout.post(f"/v1/quotes/{quote['id']}/accept"))
    order = ok(checkout.get(f"/v1/orders/{accepted['order_id']}"))
    assert (order["kind"], order["price"]["amount"], accepted["status"]) == (
        "work",
        7500,
        "accepted",
    )
    pay(client, order["id"], checkout, at=T0 + timedelta(days=3, hours=1))
    assert ok(helpdesk.get(f"/v1/quotes/{quote['id']}"))["status"] == "paid"
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        done = ok(helpdesk.post(f"/v1/quotes/{quote['id']}/complete", json={}))
    assert done["status"] == "completed" and done["warranty_until"] == "2027-01-06T12:00:00Z"

    def warranty(at: str, who: int = customer["id"]) -> dict[str, Any]:
        return ok(
            helpdesk.get(
                f"/v1/entitlements?department=warranty&customer_id={who}&quote_id={quote['id']}&at={at}"
            )
        )

    assert warranty("2027-01-06T12:00:00Z")["code"] == "ALLOWED"
    assert warranty("2027-01-06T12:00:01Z")["code"] == "WARRANTY_ENDED"
    assert warranty("2026-12-06T11:59:59Z")["code"] == "WARRANTY_NOT_STARTED"
    other = new_customer(admin)
    assert warranty("2027-01-01T00:00:00Z", other["id"])["code"] == "NOT_QUOTE_OWNER"
    missing = ok(
        helpdesk.get(
            f"/v1/entitlements?department=warranty&customer_id={customer['id']}&quote_id=999999"
        )
    )
    assert (missing["allowed"], missing["code"]) == (False, "QUOTE_NOT_FOUND")
    no_quote = helpdesk.get(f"/v1/entitlements?department=warranty&customer_id={customer['id']}")
    assert "quote_id" in problem(no_quote, 422, "VALIDATION_FAILED")["errors"]
    types = [e["type"] for e in done["history"]]
    assert types == ["created", "sent", "accepted", "paid", "completed"]


def test_warranty_from_the_move_to_official_hosting(
    admin: Api, helpdesk: Api, checkout: Api, client: FlaskClient, gateway: FakeGateway
) -> None:
    customer = new_customer(admin)
    quote = a_quote(helpdesk, customer["id"])
    ok(helpdesk.post(f"/v1/quotes/{quote['id']}/send"))
    order_id = ok(checkout.post(f"/v1/quotes/{quote['id']}/accept"))["order_id"]
    pay(client, order_id, checkout)
    done = ok(
        helpdesk.post(
            f"/v1/quotes/{quote['id']}/complete",
            json={"moved_to_hosting_at": "2026-01-31T10:00:00Z"},
        )
    )
    assert (done["warranty_starts_at"], done["warranty_until"]) == (
        "2026-01-31T10:00:00Z",
        "2026-02-28T10:00:00Z",
    )


ILLEGAL = [
    ("draft", "accept"),
    ("draft", "complete"),
    ("sent", "send"),
    ("sent", "complete"),
    ("accepted", "send"),
    ("accepted", "cancel"),
    ("accepted", "complete"),
    ("cancelled", "send"),
    ("cancelled", "accept"),
    ("cancelled", "cancel"),
]


@pytest.mark.parametrize(("state", "action"), ILLEGAL)
def test_every_illegal_transition_is_409_and_changes_nothing(
    app: Flask,
    admin: Api,
    helpdesk: Api,
    checkout: Api,
    gateway: FakeGateway,
    state: str,
    action: str,
) -> None:
    customer = new_customer(admin)
    quote = a_quote(helpdesk, customer["id"])
    path = f"/v1/quotes/{quote['id']}"
    steps = {
        "draft": [],
        "sent": ["send"],
        "accepted": ["send", "accept"],
        "cancelled": ["cancel"],
    }[state]
    for step in steps:
        ok(
            helpdesk.post(f"{path}/{step}", json={})
            if step != "accept"
            else checkout.post(f"{path}/accept")
        )
    before = ok(helpdesk.get(path))
    response = (
        helpdesk.post(f"{path}/{action}", json={})
        if action != "accept"
        else checkout.post(f"{path}/accept")
    )
    body = problem(response, 409, "QUOTE_STATE")
    assert body["current_state"] == state
    assert ok(helpdesk.get(path)) == before


def test_lines_change_only_in_draft_and_expired_quotes_cannot_be_accepted(
    admin: Api, helpdesk: Api, checkout: Api, gateway: FakeGateway
) -> None:
    customer = new_customer(admin)
    quote = a_quote(helpdesk, customer["id"])
    changed = ok(
        helpdesk.put(
            f"/v1/quotes/{quote['id']}/lines",
            json={"lines": [{"category": "layout", "description": "x", "hours": 0.75}]},
        )
    )
    assert (changed["hours"], changed["amount"]["amount"]) == (0.75, 2250)
    with time_machine.travel(T0, tick=False):
        ok(helpdesk.post(f"/v1/quotes/{quote['id']}/send"))
    problem(
        helpdesk.put(
            f"/v1/quotes/{quote['id']}/lines",
            json={"lines": [{"category": "layout", "description": "y", "hours": 1}]},
        ),
        409,
        "QUOTE_STATE",
    )
    with time_machine.travel(T0 + timedelta(days=14, seconds=1), tick=False):
        assert ok(helpdesk.get(f"/v1/quotes/{quote['id']}"))["status"] == "expired"
        body = problem(checkout.post(f"/v1/quotes/{quote['id']}/accept"), 409, "QUOTE_STATE")
    assert body["current_state"] == "expired"
    assert gateway.intents == {}


def test_quote_for_a_license_must_be_the_customers(admin: Api, helpdesk: Api) -> None:
    owner, other = new_customer(admin), new_customer(admin)
    license = import_license(admin, customer_id=owner["id"])
    lines = [{"category": "programming", "description": "x", "hours": 1}]
    ok_quote = created(
        helpdesk.post(
            "/v1/quotes",
            json={"customer_id": owner["id"], "license_key": license["key"], "lines": lines},
        )
    )
    assert ok_quote["license_key"] == license["key"]
    response = helpdesk.post(
        "/v1/quotes",
        json={"customer_id": other["id"], "license_key": license["key"], "lines": lines},
    )
    assert "license_key" in problem(response, 422, "VALIDATION_FAILED")["errors"]
    unknown = helpdesk.post("/v1/quotes", json={"customer_id": 999999, "lines": lines})
    assert "customer_id" in problem(unknown, 422, "CUSTOMER_NOT_FOUND")["errors"]


def test_printable_page_behind_a_signed_expiring_link(
    app: Flask, client: FlaskClient, admin: Api, helpdesk: Api
) -> None:
    customer = new_customer(admin)
    quote = a_quote(
        helpdesk,
        customer["id"],
        {"category": "design", "description": "<b>Logo</b> & icons", "hours": 2},
    )
    with time_machine.travel(T0, tick=False):
        link = ok(helpdesk.post(f"/v1/quotes/{quote['id']}/link"))
    assert link["expires_at"] == "2026-12-26T12:00:00Z"
    path = link["url"].split("localhost", 1)[1]
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        page = client.get(path)
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert re.search(r'id="total">60\.00<', html) and "&lt;b&gt;Logo&lt;/b&gt; &amp; icons" in html
    assert "14 days" in html and "month of warranty" in html
    with time_machine.travel(T0 + timedelta(days=31), tick=False):
        problem(client.get(path), 404, "LINK_INVALID")
    problem(client.get(path.replace("token=", "token=x")), 404, "LINK_INVALID")
    problem(client.get(f"/quotes/{quote['id'] + 1}?{path.split('?')[1]}"), 404, "LINK_INVALID")


def test_quote_history_is_append_only(app: Flask, admin: Api, helpdesk: Api) -> None:
    a_quote(helpdesk, new_customer(admin)["id"])
    with app.app_context():
        event = db.session.execute(select(QuoteEvent).limit(1)).scalar_one()
        event.actor = "forger"
        with pytest.raises(PermissionError):
            db.session.flush()
        db.session.rollback()
        assert db.session.execute(select(func.count()).select_from(QuoteEvent)).scalar_one() == 1
