"""The reports' monthly rollup (D18) equals the direct aggregation of the facts, for random
histories of purchases, renewals, upgrades, refunds, lost disputes and paid work driven
through the API at random instants, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from licensing.extensions import db
from licensing.services import report_rollup
from tests.factories import Api, created, make_key, new_customer, ok
from tests.fakes import FakeGateway, intent, signed, stripe_event
from tests.integration.test_revenue_report import lose_dispute, pay, refund, work

_domains = count()  # the database is not reset between examples
START = datetime(2025, 1, 1, tzinfo=UTC)
ACTIONS = ("purchase", "renew", "upgrade", "refund", "dispute", "work")
steps = st.lists(
    st.tuples(st.sampled_from(ACTIONS), st.integers(0, 200), st.integers(0, 10_000)),
    min_size=1,
    max_size=12,
)


class History:
    """Plays the steps through the API; what it cannot do at that instant it skips."""

    def __init__(self, app: Flask, client: FlaskClient, admin: Api, checkout: Api) -> None:
        self.client, self.checkout = client, checkout
        self.helpdesk = Api(client, make_key(app, "helpdesk"))
        self.customer = new_customer(admin)["id"]
        self.licenses: list[str] = []
        self.paid: list[tuple[str, int]] = []  # payment intent, amount

    def play(self, action: str, at: datetime, pick: int) -> None:
        text = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        if action == "purchase":
            body = {
                "kind": "purchase",
                "customer_id": self.customer,
                "edition": ("pro", "premium")[pick % 2],
                "domain": f"rollup{next(_domains)}.example.com",
            }
            self._order(body, text)
        elif action in ("renew", "upgrade") and self.licenses:
            key = self.licenses[pick % len(self.licenses)]
            body = {"kind": action if action == "upgrade" else "renewal", "license_key": key}
            if action == "upgrade":
                body["edition"] = "premium"
            self._order(body, text)
        elif action == "refund" and self.paid:
            with time_machine.travel(at, tick=False):
                refund(self.client, *self.paid[pick % len(self.paid)])
        elif action == "dispute" and self.paid:
            with time_machine.travel(at, tick=False):
                lose_dispute(self.client, self.paid[pick % len(self.paid)][0])
        elif action == "work":
            pi = work(self.client, self.helpdesk, self.checkout, self.customer, text)
            self.paid.append((pi, 7500))

    def _order(self, body: dict[str, Any], at: str) -> None:
        with time_machine.travel(datetime.fromisoformat(at), tick=False):
            answer = self.checkout.post("/v1/orders", json=body)
        if answer.status_code != 201:
            return  # not allowed now (a revoked license, Premium already, a taken domain)
        placed = answer.get_json()
        self.paid.append((pay(self.client, placed, at), placed["price"]["amount"]))
        if body["kind"] == "purchase":
            self.licenses.append(ok(self.checkout.get(f"/v1/orders/{placed['id']}"))["license_key"])


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=steps)
def test_d18_rollup_equals_the_direct_aggregation_for_any_history(
    app: Flask,
    client: FlaskClient,
    admin: Api,
    checkout: Api,
    gateway: FakeGateway,
    history: list[tuple[str, int, int]],
) -> None:
    played = History(app, client, admin, checkout)
    at = START
    for action, days, pick in history:
        at += timedelta(days=days, seconds=pick)
        played.play(action, at, pick)
    with app.app_context():
        conn = db.session.connection()
        reference, stored = report_rollup.aggregate(conn), report_rollup.stored(conn)
        db.session.rollback()
    assert stored == reference
    assert not played.paid or any(figure == "orders" for figure, *_ in stored)


def test_d18_rebuild_gives_the_rollup_kept_by_each_transaction(
    app: Flask, client: FlaskClient, admin: Api, checkout: Api, gateway: FakeGateway
) -> None:
    """The migration's backfill and the bulk loads (`rebuild`) agree with the rollup kept
    write by write."""
    played = History(app, client, admin, checkout)
    picks = (("purchase", 0), ("work", 0), ("renew", 0), ("refund", 1), ("upgrade", 0))
    for n, (action, pick) in enumerate((*picks, ("dispute", 2))):  # refund: the work
        played.play(action, START + timedelta(days=100 * n), pick)
    with app.app_context():
        conn = db.session.connection()
        kept = report_rollup.stored(conn)
        report_rollup.rebuild(conn)
        rebuilt = report_rollup.stored(conn)
        db.session.rollback()
    assert kept == rebuilt
    assert {figure for figure, *_ in kept} == {"orders", "renewals", "terms"}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_d18_a_payment_during_a_rebuild_waits_for_it_and_is_counted_once(
    app: Flask,
    admin: Api,
    checkout: Api,
    gateway: FakeGateway,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rebuild (a migration's, a bulk load's) while the service takes payments: the first
    order of its month adds a rollup row the rebuild's DELETE never saw. Without the lock its
    INSERT then met that row (a unique violation); with it, the payment waits for the
    rebuild's commit and adds its difference to the rebuilt rows."""
    customer = new_customer(admin)["id"]
    body = {"kind": "purchase", "customer_id": customer, "edition": "pro", "domain": "r.example"}
    placed = created(checkout.post("/v1/orders", json=body))
    pi = placed["payment"]["payment_intent_id"]
    event = signed(stripe_event("payment_intent.succeeded", intent(pi, charge=f"ch_{pi}")))
    answered: list[int] = []

    def pay() -> None:
        response = app.test_client().post("/v1/stripe/webhook", data=event[0], headers=event[1])
        answered.append(response.status_code)

    payment = threading.Thread(target=pay)
    orders_by_month = report_rollup.orders_by_month
    rebuilding = threading.current_thread()

    def paid_meanwhile(dialect: str, order_ids: Any = None) -> Any:
        """Between the rebuild's DELETE and its last INSERT, the payment is made (the
        payment's own rollup reads this too, in its thread)."""
        if threading.current_thread() is rebuilding:
            payment.start()
            payment.join(1.0)  # it waits for the rebuild (or, unlocked, commits at once)
        return orders_by_month(dialect, order_ids)

    monkeypatch.setattr(report_rollup, "orders_by_month", paid_meanwhile)
    with app.app_context(), db.engine.begin() as conn:
        report_rollup.rebuild(conn)
        assert payment.is_alive()  # still waiting, until this commits
    payment.join(30)
    assert answered == [200]
    monkeypatch.undo()
    with app.app_context():
        conn = db.session.connection()
        assert report_rollup.stored(conn) == report_rollup.aggregate(conn)
        db.session.rollback()
