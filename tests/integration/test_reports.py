"""The renewal report (D18, D1, D2, D9): hand-computed rows in JSON and CSV, validation."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import Api, created, import_license, make_key, new_customer, ok, problem
from tests.fakes import FakeGateway, charge, intent, signed, stripe_event


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def finance(app: Flask, client: FlaskClient) -> Api:
    return Api(client, make_key(app, "finance"))


def renew(client: FlaskClient, checkout: Api, key: str, paid: str) -> dict[str, Any]:
    with time_machine.travel(z(paid), tick=False):
        order = created(checkout.post("/v1/orders", json={"kind": "renewal", "license_key": key}))
    pi = order["payment"]["payment_intent_id"]
    body, headers = signed(
        stripe_event("payment_intent.succeeded", intent(pi, charge=f"ch_{pi}"), created=z(paid))
    )
    assert client.post("/v1/stripe/webhook", data=body, headers=headers).status_code == 200
    return order


@pytest.fixture
def ledger(client: FlaskClient, admin: Api, checkout: Api, gateway: FakeGateway) -> dict[str, Any]:
    """Hand-computed: four renewals in 2026-01/02, both rates, one refunded, one edition price
    changed after the fact (D2: reports keep the price paid)."""
    customer = new_customer(admin)["id"]
    pro_a = import_license(
        admin, customer_id=customer, domain="a.example.com", purchased_at="2025-01-10T00:00:00Z"
    )  # ends 2026-01-10
    pro_b = import_license(
        admin, customer_id=customer, domain="b.example.com", purchased_at="2024-06-01T00:00:00Z"
    )  # ended 2025-06-01
    prem = import_license(
        admin,
        customer_id=customer,
        domain="c.example.com",
        edition="premium",
        purchased_at="2025-01-20T00:00:00Z",
    )  # ends 2026-01-20
    pro_d = import_license(
        admin, customer_id=customer, domain="d.example.com", purchased_at="2025-02-05T00:00:00Z"
    )  # ends 2026-02-05
    import_license(
        admin, customer_id=customer, domain="e.example.com", purchased_at="2025-01-25T00:00:00Z"
    )  # ends 2026-01-25, never renewed
    renew(client, checkout, pro_a["key"], "2026-01-05T10:00:00Z")  # pro preferential 60.00
    renew(
        client, checkout, pro_b["key"], "2026-01-15T10:00:00Z"
    )  # pro standard 90.00 (window closed 2025-07-01)
    refunded = renew(
        client, checkout, prem["key"], "2026-01-18T10:00:00Z"
    )  # premium preferential 100.00, refunded
    renew(
        client, checkout, pro_d["key"], "2026-02-10T10:00:00Z"
    )  # pro preferential (in grace month) 60.00
    body, headers = signed(
        stripe_event(
            "charge.refunded",
            charge(
                refunded["payment"]["payment_intent_id"],
                charge_id=f"ch_{refunded['payment']['payment_intent_id']}",
                amount=10000,
                refunded=10000,
            ),
        )
    )
    client.post("/v1/stripe/webhook", data=body, headers=headers)
    admin.put("/v1/editions/pro", json={"price": {"amount": 99900, "currency": "USD"}})
    return {"customer": customer}


def usd(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "USD"}


EXPECTED_ROWS = [
    {
        "month": "2026-01",
        "edition": "premium",
        "rate": "preferential",
        "count": 1,
        "revenue": usd(10000),
        "refunded": usd(10000),
        "net": usd(0),
    },
    {
        "month": "2026-01",
        "edition": "pro",
        "rate": "preferential",
        "count": 1,
        "revenue": usd(6000),
        "refunded": usd(0),
        "net": usd(6000),
    },
    {
        "month": "2026-01",
        "edition": "pro",
        "rate": "standard",
        "count": 1,
        "revenue": usd(9000),
        "refunded": usd(0),
        "net": usd(9000),
    },
    {
        "month": "2026-02",
        "edition": "pro",
        "rate": "preferential",
        "count": 1,
        "revenue": usd(6000),
        "refunded": usd(0),
        "net": usd(6000),
    },
]


@time_machine.travel("2026-11-26T12:00:00Z", tick=False)
def test_d18_hand_computed_rows_totals_and_renewal_rate(
    ledger: dict[str, Any], finance: Api
) -> None:
    report = ok(finance.get("/v1/reports/renewals?from=2026-01&to=2026-02"))
    assert report["period"] == {"from": "2026-01", "to": "2026-02"}
    assert report["rows"] == EXPECTED_ROWS
    assert report["totals"] == {
        "count": 4,
        "revenue": usd(31000),
        "refunded": usd(10000),
        "net": usd(21000),
    }
    # Terms that ended: Jan: a (renewed in window), c (renewed, refunded: not renewed), e (not);
    # Feb: d (renewed in the grace month, preferential). b's term ended in 2025.
    assert report["renewal_rate"] == [
        {
            "month": "2026-01",
            "due": 3,
            "renewed_preferential": 1,
            "renewed_standard": 0,
            "not_renewed": 2,
            "rate": "0.3333",
        },
        {
            "month": "2026-02",
            "due": 1,
            "renewed_preferential": 1,
            "renewed_standard": 0,
            "not_renewed": 0,
            "rate": "1.0000",
        },
    ]
    assert report["upcoming"] == []  # the period is behind us


@time_machine.travel("2026-11-26T12:00:00Z", tick=False)
def test_d18_edition_filter_and_the_expiries_ahead_at_todays_price(
    ledger: dict[str, Any], finance: Api
) -> None:
    premium = ok(finance.get("/v1/reports/renewals?from=2026-01&to=2026-02&edition=premium"))
    assert premium["rows"] == EXPECTED_ROWS[:1]
    ahead = ok(finance.get("/v1/reports/renewals?from=2026-11&to=2027-02"))
    # Renewed: a until 2027-01-10, b until 2027-01-15, d until 2027-02-05 (pro, 20% of 999.00).
    assert ahead["upcoming"] == [
        {"month": "2026-11", "expiring": 0, "potential_revenue": usd(0)},
        {"month": "2026-12", "expiring": 0, "potential_revenue": usd(0)},
        {"month": "2027-01", "expiring": 2, "potential_revenue": usd(2 * 19980)},
        {"month": "2027-02", "expiring": 1, "potential_revenue": usd(19980)},
    ]


@time_machine.travel("2026-11-26T12:00:00Z", tick=False)
def test_d18_csv_has_the_same_rows_with_decimal_amounts(
    ledger: dict[str, Any], finance: Api
) -> None:
    response = finance.get(
        "/v1/reports/renewals?from=2026-01&to=2026-02", headers={"Accept": "text/csv"}
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert (
        response.headers["Content-Disposition"]
        == 'attachment; filename="renewals-2026-01-to-2026-02.csv"'
    )
    text = response.get_data(as_text=True)
    assert text.count("\r\n") == 5  # RFC 4180 line ends: a header and four rows
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [list(r.values()) for r in rows] == [
        ["2026-01", "premium", "preferential", "1", "100.00", "100.00", "0.00", "USD"],
        ["2026-01", "pro", "preferential", "1", "60.00", "0.00", "60.00", "USD"],
        ["2026-01", "pro", "standard", "1", "90.00", "0.00", "90.00", "USD"],
        ["2026-02", "pro", "preferential", "1", "60.00", "0.00", "60.00", "USD"],
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-05&to=2026-01", "to"),
        ("from=2016-01&to=2026-12", "to"),
        ("from=2026-13&to=2026-12", "from"),
        ("from=26-01&to=2026-12", "from"),
        ("to=2026-12", "from"),
    ],
)
def test_d18_period_is_validated(finance: Api, query: str, field: str) -> None:
    assert (
        field
        in problem(finance.get(f"/v1/reports/renewals?{query}"), 422, "VALIDATION_FAILED")["errors"]
    )


def test_reports_are_finance_only(app: Flask, client: FlaskClient) -> None:
    problem(
        Api(client, make_key(app, "checkout")).get("/v1/reports/renewals?from=2026-01&to=2026-01"),
        403,
        "FORBIDDEN",
    )


def test_the_page_needs_a_valid_signed_link(app: Flask, client: FlaskClient, finance: Api) -> None:
    link = ok(finance.post("/v1/reports/renewals/link?from=2026-01&to=2026-03"))
    page = client.get(link["url"].split("localhost", 1)[1])
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert (
        html.count('class="month"') == 3
        and "<script" not in html
        and "http" not in html.split("<body>")[1]
    )
    problem(client.get("/reports/renewals?token=forged"), 404, "LINK_INVALID")
    assert datetime.fromisoformat(link["expires_at"]) > datetime.now(UTC)


@time_machine.travel("2026-11-26T12:00:00Z", tick=False)
def test_d18_a_term_renewed_after_the_window_counts_as_renewed_later_at_the_standard_rate(
    client: FlaskClient, admin: Api, checkout: Api, finance: Api, gateway: FakeGateway
) -> None:
    """Four Pro terms end in 2025-03: one renewed in the grace month (preferential), two
    renewed after their window closed (R18: standard, one of them a second after the close,
    D14), one never renewed. The month is counted where the term ended, not where it was
    renewed; the standard renewals are paid in April and May."""
    customer = new_customer(admin)["id"]

    def term_ending(day: str) -> str:
        """A Pro license bought a year before, so its updates end on 2025-03-`day` (D14)."""
        bought = f"2024-03-{day}T00:00:00Z"
        return import_license(admin, customer_id=customer, purchased_at=bought)["key"]

    in_window = renew(client, checkout, term_ending("05"), "2025-03-20T10:00:00Z")
    later = renew(client, checkout, term_ending("10"), "2025-05-02T10:00:00Z")  # closed 04-10
    just_after = renew(client, checkout, term_ending("31"), "2025-04-30T00:00:01Z")  # closed 04-30
    term_ending("15")  # never renewed
    assert [(o["rate"], o["price"]["amount"]) for o in (in_window, later, just_after)] == [
        ("preferential", 6000),
        ("standard", 9000),
        ("standard", 9000),
    ]
    report = ok(finance.get("/v1/reports/renewals?from=2025-03&to=2025-05"))
    assert report["renewal_rate"] == [
        {
            "month": "2025-03",
            "due": 4,
            "renewed_preferential": 1,
            "renewed_standard": 2,
            "not_renewed": 1,
            "rate": "0.7500",
        },
        {
            "month": "2025-04",
            "due": 0,
            "renewed_preferential": 0,
            "renewed_standard": 0,
            "not_renewed": 0,
            "rate": None,
        },
        {
            "month": "2025-05",
            "due": 0,
            "renewed_preferential": 0,
            "renewed_standard": 0,
            "not_renewed": 0,
            "rate": None,
        },
    ]
    assert [(r["month"], r["rate"], r["count"], r["net"]) for r in report["rows"]] == [
        ("2025-03", "preferential", 1, usd(6000)),
        ("2025-04", "standard", 1, usd(9000)),
        ("2025-05", "standard", 1, usd(9000)),
    ]


def renewed_then_first_refunded(
    client: FlaskClient, admin: Api, checkout: Api
) -> tuple[str, dict[str, Any]]:
    """A Pro term ends 2025-03-01. The first renewal (to 2026-03-01) is refunded after a
    second one was paid in the first term's window (to 2027-03-01); the license's key and the
    second renewal's order."""
    customer = new_customer(admin)["id"]
    key = import_license(admin, customer_id=customer, purchased_at="2024-03-01T00:00:00Z")["key"]
    first = renew(client, checkout, key, "2025-02-15T00:01:00Z")
    second = renew(client, checkout, key, "2025-03-15T00:01:00Z")
    pi = first["payment"]["payment_intent_id"]
    event = charge(pi, charge_id=f"ch_{pi}", amount=6000, refunded=6000)
    body, headers = signed(stripe_event("charge.refunded", event))
    assert client.post("/v1/stripe/webhook", data=body, headers=headers).status_code == 200
    return key, second


def due_by_month(finance: Api) -> dict[str, tuple[int, int, int]]:
    """2025-03 to 2027-03: each month's terms due, renewed in the window, not renewed."""
    report = ok(finance.get("/v1/reports/renewals?from=2025-03&to=2027-03"))
    return {
        row["month"]: (row["due"], row["renewed_preferential"], row["not_renewed"])
        for row in report["renewal_rate"]
    }


def test_d18_d9_once_a_renewal_is_refunded_the_one_paid_after_it_renews_the_earlier_term(
    client: FlaskClient, admin: Api, checkout: Api, finance: Api, gateway: FakeGateway
) -> None:
    """Without the first renewal, the second renews the 2025-03 term, to 2026-03-01 (D9,
    D15): the report counts the 2025-03 term renewed, one term due in 2026-03, and none in
    2027-03."""
    key, _ = renewed_then_first_refunded(client, admin, checkout)
    assert ok(admin.get(f"/v1/licenses/{key}"))["updates_until"] == "2026-03-01T00:00:00Z"
    due = due_by_month(finance)
    assert (due["2025-03"], due["2026-03"], due["2027-03"]) == ((1, 1, 0), (1, 0, 1), (0, 0, 0))


def test_d18_migration_0022_moves_the_terms_a_refund_left_behind(
    app: Flask, client: FlaskClient, admin: Api, checkout: Api, finance: Api, gateway: FakeGateway
) -> None:
    """Before 0022 a refund left the second renewal on the term it was paid on (2026-03-01
    to 2027-03-01), and the rollup counted that; the revision moves it and rebuilds."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import update

    from licensing.adapters.models import Renewal
    from licensing.extensions import db
    from licensing.services.report_rollup import rebuild

    _, second = renewed_then_first_refunded(client, admin, checkout)
    right = due_by_month(finance)
    with app.app_context():
        db.session.execute(
            update(Renewal)
            .where(Renewal.order_id == second["id"])
            .values(
                old_updates_until=z("2026-03-01T00:00:00Z"),
                new_updates_until=z("2027-03-01T00:00:00Z"),
            )
        )
        rebuild(db.session.connection())
        db.session.commit()
    stale = due_by_month(finance)
    assert (stale["2025-03"], stale["2027-03"]) == ((1, 0, 1), (1, 0, 1))  # as it was
    with app.app_context():
        downgrade(revision="0021")
        upgrade()
    assert due_by_month(finance) == right
