"""The revenue report (D18, D1, D2, D9): every paid order by month and kind, hand-computed,
in JSON and CSV; its period checks and scopes."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from licensing import demo_data
from licensing.adapters.models import License, Order
from licensing.domain.orders import OrderKind
from licensing.domain.reports import period
from licensing.extensions import db
from licensing.services import revenue_report
from tests.factories import Api, created, import_license, make_key, new_customer, ok, problem
from tests.fakes import FakeGateway, charge, dispute, intent, signed, stripe_event
from tests.statements import statements_sent

KINDS = [kind.value for kind in OrderKind]  # upgrade included once it is a kind


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def usd(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "USD"}


@pytest.fixture
def finance(app: Flask, client: FlaskClient) -> Api:
    return Api(client, make_key(app, "finance"))


def deliver(client: FlaskClient, event: dict[str, Any]) -> None:
    body, headers = signed(event)
    assert client.post("/v1/stripe/webhook", data=body, headers=headers).status_code == 200


def order(checkout: Api, at: str, body: dict[str, Any]) -> dict[str, Any]:
    with time_machine.travel(z(at), tick=False):
        return created(checkout.post("/v1/orders", json=body))


def pay(client: FlaskClient, placed: dict[str, Any], at: str) -> str:
    pi = placed["payment"]["payment_intent_id"]
    deliver(
        client,
        stripe_event("payment_intent.succeeded", intent(pi, charge=f"ch_{pi}"), created=z(at)),
    )
    return pi


def refund(client: FlaskClient, pi: str, amount: int) -> None:
    refunded = charge(pi, charge_id=f"ch_{pi}", amount=amount, refunded=amount)
    deliver(client, stripe_event("charge.refunded", refunded))


def lose_dispute(client: FlaskClient, pi: str) -> None:
    for kind, status in (("created", "needs_response"), ("closed", "lost")):
        deliver(
            client,
            stripe_event(
                f"charge.dispute.{kind}", dispute(pi, charge_id=f"ch_{pi}", status=status)
            ),
        )


def work(client: FlaskClient, helpdesk: Api, checkout: Api, customer: int, at: str) -> str:
    """Paid work: 2.5 hours at $30.00 (R14, D12), accepted and paid at `at`."""
    line = {"category": "programming", "description": "Import", "hours": 2.5}
    with time_machine.travel(z(at), tick=False):
        quote = created(
            helpdesk.post("/v1/quotes", json={"customer_id": customer, "lines": [line]})
        )
        ok(helpdesk.post(f"/v1/quotes/{quote['id']}/send"))
        accepted = ok(checkout.post(f"/v1/quotes/{quote['id']}/accept"))
    return pay(client, ok(checkout.get(f"/v1/orders/{accepted['order_id']}")), at)


@pytest.fixture
def ledger(
    app: Flask, client: FlaskClient, admin: Api, checkout: Api, gateway: FakeGateway
) -> None:
    """Hand-computed, January and February 2026 (prices: Pro 300.00, Premium 500.00):
    - 2026-01: purchases: Pro paid 01-03, Premium paid 01-20 and refunded, Pro paid at
      01-31 23:59:59; a Pro renewal (60.00, preferential) paid 01-05;
    - 2026-02: a Premium renewal (100.00) paid 02-10 and its dispute lost; paid work (75.00)
      paid 02-14; a purchase never paid;
    - 2026-03-01 00:00:00: a Pro purchase, outside the period.
    Then the Pro price changes (D2: the report keeps the prices paid)."""
    helpdesk = Api(client, make_key(app, "helpdesk"))
    customer = new_customer(admin)["id"]

    def purchase(domain: str, edition: str, paid: str | None) -> str | None:
        body = {"kind": "purchase", "customer_id": customer, "edition": edition, "domain": domain}
        placed = order(checkout, paid or "2026-02-20T10:00:00Z", body)
        return pay(client, placed, paid) if paid else None

    def renewal(edition: str, bought: str, paid: str) -> str:
        key = import_license(admin, customer_id=customer, edition=edition, purchased_at=bought)[
            "key"
        ]
        return pay(client, order(checkout, paid, {"kind": "renewal", "license_key": key}), paid)

    purchase("jan-a.example.com", "pro", "2026-01-03T09:00:00Z")
    refund(client, str(purchase("jan-b.example.com", "premium", "2026-01-20T09:00:00Z")), 50000)
    purchase("jan-c.example.com", "pro", "2026-01-31T23:59:59Z")
    renewal("pro", "2025-01-10T00:00:00Z", "2026-01-05T10:00:00Z")
    lose_dispute(client, renewal("premium", "2025-02-20T00:00:00Z", "2026-02-10T10:00:00Z"))
    work(client, helpdesk, checkout, customer, "2026-02-14T10:00:00Z")
    purchase("unpaid.example.com", "pro", None)
    purchase("march.example.com", "pro", "2026-03-01T00:00:00Z")
    admin.put("/v1/editions/pro", json={"price": {"amount": 99900, "currency": "USD"}})


def amounts(count: int, revenue: int, refunded: int = 0) -> dict[str, Any]:
    return {
        "count": count,
        "revenue": usd(revenue),
        "refunded": usd(refunded),
        "net": usd(revenue - refunded),
    }


# (month, kind) -> count, revenue, refunded; every other cell is zero.
EXPECTED = {
    ("2026-01", "purchase"): (3, 30000 + 50000 + 30000, 50000),
    ("2026-01", "renewal"): (1, 6000, 0),
    ("2026-02", "renewal"): (1, 10000, 10000),
    ("2026-02", "work"): (1, 7500, 0),
}


def expected_rows(expected: dict[tuple[str, str], tuple[int, int, int]]) -> list[dict]:
    return [
        {"month": month, "kind": kind, **amounts(*expected.get((month, kind), (0, 0, 0)))}
        for month in ("2026-01", "2026-02")
        for kind in KINDS
    ]


@time_machine.travel("2026-11-26T12:00:00Z", tick=False)
def test_d18_revenue_by_month_and_kind_with_refunds_netted_out(ledger: None, finance: Api) -> None:
    report = ok(finance.get("/v1/reports/revenue?from=2026-01&to=2026-02"))
    assert report["period"] == {"from": "2026-01", "to": "2026-02"}
    assert report["rows"] == expected_rows(EXPECTED)
    by_kind = {"purchase": (3, 110000, 50000), "renewal": (2, 16000, 10000), "work": (1, 7500, 0)}
    assert report["by_kind"] == [
        {"kind": kind, **amounts(*by_kind.get(kind, (0, 0, 0)))} for kind in KINDS
    ]
    assert report["totals"] == amounts(6, 133500, 60000)


@time_machine.travel("2026-11-26T12:00:00Z", tick=False)
def test_d18_revenue_report_months_are_utc_and_both_ends_included(
    ledger: None, finance: Api
) -> None:
    march = ok(finance.get("/v1/reports/revenue?from=2026-03&to=2026-03"))
    assert march["totals"] == amounts(1, 30000)  # paid at 2026-03-01T00:00:00Z
    january = ok(finance.get("/v1/reports/revenue?from=2026-01&to=2026-01"))
    assert january["totals"] == amounts(4, 116000, 50000)  # 01-31T23:59:59Z included
    assert [r["month"] for r in january["rows"]] == ["2026-01"] * len(KINDS)


@time_machine.travel("2026-11-26T12:00:00Z", tick=False)
def test_d18_revenue_report_edition_filter_leaves_out_paid_work(ledger: None, finance: Api) -> None:
    premium = ok(finance.get("/v1/reports/revenue?from=2026-01&to=2026-02&edition=premium"))
    assert premium["rows"] == expected_rows(
        {("2026-01", "purchase"): (1, 50000, 50000), ("2026-02", "renewal"): (1, 10000, 10000)}
    )
    pro = ok(finance.get("/v1/reports/revenue?from=2026-01&to=2026-02&edition=pro"))
    assert pro["totals"] == amounts(3, 66000)
    none = ok(finance.get("/v1/reports/revenue?from=2026-01&to=2026-02&edition=gold"))
    assert none["totals"] == amounts(0, 0)


@time_machine.travel("2026-11-26T12:00:00Z", tick=False)
def test_d18_revenue_report_as_csv_with_decimal_amounts(ledger: None, finance: Api) -> None:
    response = finance.get(
        "/v1/reports/revenue?from=2026-01&to=2026-02", headers={"Accept": "text/csv"}
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert (
        response.headers["Content-Disposition"]
        == 'attachment; filename="revenue-2026-01-to-2026-02.csv"'
    )
    text = response.get_data(as_text=True)
    assert text.count("\r\n") == 1 + 2 * len(KINDS)  # a header, a row per month and kind
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["month", "kind", "count", "revenue", "refunded", "net", "currency"]
    shown = {(r["month"], r["kind"]): list(r.values())[2:] for r in rows}
    assert shown[("2026-01", "purchase")] == ["3", "1100.00", "500.00", "600.00", "USD"]
    assert shown[("2026-02", "renewal")] == ["1", "100.00", "100.00", "0.00", "USD"]
    assert shown[("2026-02", "work")] == ["1", "75.00", "0.00", "75.00", "USD"]
    assert shown[("2026-02", "purchase")] == ["0", "0.00", "0.00", "0.00", "USD"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-05&to=2026-01", "to"),
        ("from=2016-01&to=2026-12", "to"),  # 132 months: more than 120
        ("from=2026-13&to=2026-12", "from"),
        ("from=26-01&to=2026-12", "from"),
        ("from=2999-12&to=3000-01", "to"),
        ("to=2026-12", "from"),
    ],
)
@pytest.mark.parametrize("accept", ["application/json", "text/csv"])
def test_d18_revenue_report_period_is_validated(
    finance: Api, query: str, field: str, accept: str
) -> None:
    answer = finance.get(f"/v1/reports/revenue?{query}", headers={"Accept": accept})
    assert field in problem(answer, 422, "VALIDATION_FAILED")["errors"]


def test_d18_revenue_report_covers_up_to_120_months(finance: Api) -> None:
    report = ok(finance.get("/v1/reports/revenue?from=2017-01&to=2026-12"))
    assert len(report["rows"]) == 120 * len(KINDS)
    assert report["totals"] == amounts(0, 0)


@pytest.mark.parametrize(("scope", "status"), [("finance", 200), ("admin", 200)])
def test_revenue_report_is_for_finance_and_admin(
    app: Flask, client: FlaskClient, scope: str, status: int
) -> None:
    answer = Api(client, make_key(app, scope)).get("/v1/reports/revenue?from=2026-01&to=2026-01")
    assert answer.status_code == status


@pytest.mark.parametrize("scope", ["checkout", "helpdesk"])
def test_revenue_report_is_refused_to_other_scopes(
    app: Flask, client: FlaskClient, scope: str
) -> None:
    path = "/v1/reports/revenue?from=2026-01&to=2026-01"
    problem(Api(client, make_key(app, scope)).get(path), 403, "FORBIDDEN")
    assert client.get(path).status_code == 401


def test_revenue_report_without_orders_has_a_zero_row_for_each_month_and_kind(finance: Api) -> None:
    """No order at all: still a row for every month and kind, all zero."""
    report = ok(finance.get("/v1/reports/revenue?from=2026-12&to=2027-01"))
    assert [(r["month"], r["kind"]) for r in report["rows"]] == [
        (m, k) for m in ("2026-12", "2027-01") for k in KINDS
    ]
    assert report["by_kind"] == [{"kind": k, **amounts(0, 0)} for k in KINDS]


@time_machine.travel("2026-11-26T12:00:00Z", tick=False)
def test_d18_the_report_page_shows_the_revenue_beside_the_renewals(
    ledger: None, client: FlaskClient, finance: Api
) -> None:
    link = ok(finance.post("/v1/reports/renewals/link?from=2026-01&to=2026-02"))
    html = client.get(link["url"].split("localhost", 1)[1]).get_data(as_text=True)
    assert 'id="revenue-chart"' in html and 'id="revenue-by-kind"' in html
    assert html.count('class="revenue-month"') == 2
    assert 'id="revenue-total-net">735.00<' in html
    assert "<script" not in html
    for kind in KINDS:
        assert f'data-kind="{kind}"' in html


def test_d18_demo_data_has_purchases_and_work_after_the_renewals_it_always_wrote(
    app: Flask, finance: Api
) -> None:
    """The revenue report has real data to show; the renewal report's stays what it was: the
    renewal orders keep their ids (the new orders come after), and both reports agree on
    renewals."""
    with app.app_context():
        summary = demo_data.generate(licenses=300, seed=7, now=datetime(2026, 11, 26, tzinfo=UTC))
        first = {
            kind: db.session.execute(select(func.min(Order.id)).where(Order.kind == kind)).scalar()
            for kind in ("renewal", "purchase", "work")
        }
        last_renewal = db.session.execute(
            select(func.max(Order.id)).where(Order.kind == "renewal")
        ).scalar()
        direct = db.session.execute(
            select(func.count()).select_from(License).where(License.channel == "direct")
        ).scalar()
        db.session.remove()
    assert summary.purchases == direct and summary.work > 0
    assert first["renewal"] < last_renewal < first["purchase"] < first["work"]
    query = "from=2021-11&to=2026-11"
    revenue = ok(finance.get(f"/v1/reports/revenue?{query}"))
    renewals = ok(finance.get(f"/v1/reports/renewals?{query}"))
    by_kind = {k["kind"]: k for k in revenue["by_kind"]}
    assert {k: by_kind[k]["count"] for k in ("purchase", "work")} == {
        "purchase": summary.purchases,
        "work": summary.work,
    }
    assert {k: by_kind["renewal"][k] for k in renewals["totals"]} == renewals["totals"]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_revenue_report_reads_the_months_of_its_period_through_an_index(app: Flask) -> None:
    """D18: the period's months are read from the rollup by its key (`pk_report_months`),
    not by reading every order; sequential scans are priced out (a tiny table would
    otherwise be scanned, which says nothing about a million rows)."""
    with app.app_context():
        with statements_sent(app) as seen:
            revenue_report.revenue_report(period=period("2026-01", "2026-12"), edition=None)
        assert len(seen) == 1  # one statement, grouped in SQL
        conn = db.session.connection()
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        cursor = conn.connection.driver_connection.cursor()
        cursor.execute(f"EXPLAIN {seen[0][0]}", seen[0][1])
        plan = "\n".join(row[0] for row in cursor.fetchall())
        db.session.rollback()
    assert "Seq Scan" not in plan and "pk_report_months" in plan, plan
