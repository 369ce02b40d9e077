"""Races on PostgreSQL with real connections: the database, not Python, keeps D4."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from licensing.adapters.models import License, LicenseEvent, Order, OrderEvent, Renewal
from licensing.clock import utcnow
from licensing.extensions import db
from licensing.services import licenses, orders
from tests.factories import Api, import_license, make_key, new_customer
from tests.fakes import FakeGateway, charge, intent, signed, stripe_event

T = TypeVar("T")

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

CONTENDERS = 20


@pytest.mark.parametrize("friendly_check", [True, False], ids=["with-check", "index-only"])
def test_d4_twenty_concurrent_binds_of_one_domain_exactly_one_wins(
    app: Flask, admin: Api, friendly_check: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the Python pre-check switched off, the partial unique index alone still holds."""
    if not friendly_check:
        monkeypatch.setattr(licenses, "ensure_domain_free", lambda *a, **k: None)
    customer = new_customer(admin)
    keys = [import_license(admin, customer_id=customer["id"])["key"] for _ in range(CONTENDERS)]
    checkout_key = make_key(app, "checkout")
    start = threading.Barrier(CONTENDERS)

    def bind(key: str) -> tuple[int, str | None]:
        api = Api(app.test_client(), checkout_key)
        start.wait()
        response = api.put(f"/v1/licenses/{key}/domain", json={"domain": "contested.example.com"})
        return response.status_code, response.get_json().get("code")

    with ThreadPoolExecutor(max_workers=CONTENDERS) as pool:
        outcomes = list(pool.map(bind, keys))

    assert sorted(status for status, _ in outcomes) == [200] + [409] * (CONTENDERS - 1)
    assert {code for status, code in outcomes if status == 409} == {"DOMAIN_TAKEN"}
    with app.app_context():
        live = db.session.execute(
            select(func.count()).where(
                License.domain == "contested.example.com", License.status != "revoked"
            )
        ).scalar_one()
    assert live == 1


def _concurrently(count: int, action: Callable[[int], T]) -> list[T]:
    start = threading.Barrier(count)

    def run(n: int) -> T:
        start.wait()
        return action(n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_d7_one_success_event_delivered_ten_times_at_once_issues_one_license(
    app: Flask, admin: Api, checkout: Api, gateway: FakeGateway
) -> None:
    customer = new_customer(admin)
    body = {
        "kind": "purchase",
        "customer_id": customer["id"],
        "edition": "pro",
        "domain": "once.example.com",
    }
    order = checkout.post("/v1/orders", json=body).get_json()
    pi = order["payment"]["payment_intent_id"]
    payload, headers = signed(stripe_event("payment_intent.succeeded", intent(pi, charge="ch_1")))

    def deliver(_: int) -> tuple[int, str]:
        response = app.test_client().post("/v1/stripe/webhook", data=payload, headers=headers)
        return response.status_code, response.get_json().get("outcome")

    outcomes = _concurrently(10, deliver)
    assert sorted(outcomes) == [(200, "applied")] + [(200, "duplicate")] * 9
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(License)).scalar_one() == 1
        issued = select(func.count()).where(LicenseEvent.type == "issued")
        assert db.session.execute(issued).scalar_one() == 1
        paid = select(func.count()).where(OrderEvent.type == "paid")
        assert db.session.execute(paid).scalar_one() == 1


def test_ten_concurrent_identical_orders_with_one_key_create_one_order(
    app: Flask, admin: Api, checkout: Api, gateway: FakeGateway
) -> None:
    customer = new_customer(admin)
    body = {
        "kind": "purchase",
        "customer_id": customer["id"],
        "edition": "pro",
        "domain": "one.example.com",
    }

    def order(_: int) -> tuple[int, bytes]:
        api = Api(app.test_client(), checkout.key)
        response = api.post("/v1/orders", json=body, headers={"Idempotency-Key": "same"})
        return response.status_code, response.get_data()

    answers = _concurrently(10, order)
    assert {status for status, _ in answers} == {201}
    assert len({body for _, body in answers}) == 1  # every caller got the same order
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Order)).scalar_one() == 1
    assert len(gateway.intents) == 1


def test_d8_expiry_run_on_two_machines_at_once_cancels_each_order_once(
    app: Flask, admin: Api, checkout: Api, gateway: FakeGateway
) -> None:
    customer = new_customer(admin)
    with time_machine.travel("2026-11-01T00:00:00Z", tick=False):
        for n in range(30):
            body = {
                "kind": "purchase",
                "customer_id": customer["id"],
                "edition": "pro",
                "domain": f"e{n}.example.com",
            }
            checkout.post("/v1/orders", json=body)
    cancels: list[str] = []
    real_cancel = gateway.cancel_payment_intent

    def counting_cancel(intent_id: str) -> bool:
        cancels.append(intent_id)
        return real_cancel(intent_id)

    gateway.cancel_payment_intent = counting_cancel  # type: ignore[method-assign]

    def expire(_: int) -> list[int]:
        with app.app_context():
            return orders.expire_orders(gateway=gateway, now=utcnow(), limit=7).expired

    runs = [_concurrently(2, expire) for _ in range(5)]
    expired = [order_id for run in runs for batch in run for order_id in batch]
    assert len(expired) == len(set(expired)) == 30
    assert sorted(cancels) == sorted(set(cancels)) and len(cancels) == 30


def test_deliver_on_two_machines_at_once_sends_each_notice_once(app: Flask, admin: Api) -> None:
    from licensing.adapters.notice_sender import HttpNoticeSender
    from licensing.services import notices
    from tests.subscribers import SECRET, Receiver

    receiver = Receiver()
    try:
        admin.post("/v1/subscribers", json={"url": receiver.url, "secret": SECRET})
        customer = new_customer(admin)
        for _ in range(12):
            import_license(admin, customer_id=customer["id"])

        def deliver(_: int) -> int:
            with app.app_context():
                return notices.deliver(sender=HttpNoticeSender(), now=utcnow()).delivered

        delivered = _concurrently(2, deliver)
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
    assert sum(delivered) == 12
    ids = [body["id"] for body in receiver.bodies()]
    assert len(ids) == len(set(ids)) == 12


def test_d16_two_renewals_of_one_license_paid_at_once_never_lose_a_year(
    app: Flask, admin: Api, checkout: Api, gateway: FakeGateway
) -> None:
    """Both orders were quoted on the same term: one applies, the other is refunded as
    stale; never two years for two payments computed from the same end, never a lost one."""
    customer = new_customer(admin)
    license = import_license(admin, customer_id=customer["id"], purchased_at="2026-01-10T00:00:00Z")
    with time_machine.travel("2026-12-01T00:00:00Z", tick=False):
        orders_ = [
            checkout.post(
                "/v1/orders", json={"kind": "renewal", "license_key": license["key"]}
            ).get_json()
            for _ in range(2)
        ]
    events = [
        signed(
            stripe_event(
                "payment_intent.succeeded",
                intent(o["payment"]["payment_intent_id"], charge=f"ch_{n}"),
            )
        )
        for n, o in enumerate(orders_)
    ]

    def pay(n: int) -> int:
        body, headers = events[n]
        return app.test_client().post("/v1/stripe/webhook", data=body, headers=headers).status_code

    assert _concurrently(2, pay) == [200, 200]
    shown = [
        Api(app.test_client(), checkout.key).get(f"/v1/orders/{o['id']}").get_json()
        for o in orders_
    ]
    assert sorted(o["status"] for o in shown) == ["paid", "refunded"]
    assert [o.get("refund_reason") for o in shown if o["status"] == "refunded"] == ["quote_stale"]
    with app.app_context():
        renewed = db.session.execute(
            select(License).where(License.key == license["key"])
        ).scalar_one()
        assert renewed.updates_until.isoformat() == "2028-01-10T00:00:00+00:00"  # one year more
        assert db.session.execute(select(func.count()).select_from(Renewal)).scalar_one() == 1


def test_d9_two_renewals_of_one_license_refunded_at_once_both_give_their_year_back(
    client: FlaskClient, app: Flask, admin: Api, checkout: Api, gateway: FakeGateway
) -> None:
    """Each refund locks the license before its renewals, as payments do: the two queue on
    the license (they deadlocked when one locked its renewal first) and both years go."""
    from tests.integration.test_reports import renew

    customer = new_customer(admin)["id"]
    key = import_license(admin, customer_id=customer, purchased_at="2024-03-01T00:00:00Z")["key"]
    renewed = [
        renew(client, checkout, key, paid)
        for paid in ("2025-02-15T00:01:00Z", "2025-03-15T00:01:00Z")
    ]
    events = [
        signed(
            stripe_event(
                "charge.refunded",
                charge(pi, charge_id=f"ch_{pi}", amount=6000, refunded=6000),
            )
        )
        for pi in (o["payment"]["payment_intent_id"] for o in renewed)
    ]

    def refund(n: int) -> int:
        body, headers = events[n]
        return app.test_client().post("/v1/stripe/webhook", data=body, headers=headers).status_code

    assert _concurrently(2, refund) == [200, 200]
    license = Api(app.test_client(), admin.key).get(f"/v1/licenses/{key}").get_json()
    assert license["updates_until"] == "2025-03-01T00:00:00Z"  # the first term's end again
    with app.app_context():
        standing = select(func.count()).where(Renewal.refunded_at.is_(None))
        assert db.session.execute(standing.select_from(Renewal)).scalar_one() == 0


def test_a_quote_accepted_twice_at_once_makes_one_order(
    app: Flask, admin: Api, checkout: Api, gateway: FakeGateway
) -> None:
    helpdesk = Api(app.test_client(), make_key(app, "helpdesk"))
    customer = new_customer(admin)
    quote = helpdesk.post(
        "/v1/quotes",
        json={
            "customer_id": customer["id"],
            "lines": [{"category": "design", "description": "x", "hours": 1}],
        },
    ).get_json()
    helpdesk.post(f"/v1/quotes/{quote['id']}/send")

    def accept(_: int) -> int:
        return (
            Api(app.test_client(), checkout.key)
            .post(f"/v1/quotes/{quote['id']}/accept")
            .status_code
        )

    assert sorted(_concurrently(2, accept)) == [200, 409]
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Order)).scalar_one() == 1
    assert len(gateway.intents) == 1


def _paid_purchase(app: Flask, admin: Api, checkout: Api, domain: str) -> dict:
    customer = new_customer(admin)
    body = {"kind": "purchase", "customer_id": customer["id"], "edition": "pro", "domain": domain}
    order = checkout.post("/v1/orders", json=body).get_json()
    pi = order["payment"]["payment_intent_id"]
    payload, headers = signed(
        stripe_event("payment_intent.succeeded", intent(pi, charge=f"ch_{pi}"))
    )
    assert (
        app.test_client().post("/v1/stripe/webhook", data=payload, headers=headers).status_code
        == 200
    )
    return order


def test_d20_two_refund_requests_at_once_make_one_stripe_refund_and_one_history_entry(
    app: Flask, admin: Api, checkout: Api, gateway: FakeGateway
) -> None:
    order = _paid_purchase(app, admin, checkout, "twice.example.com")

    def ask(n: int) -> tuple[int, str]:
        api = Api(app.test_client(), admin.key)
        response = api.post(f"/v1/orders/{order['id']}/refund", json={"reason": f"ask {n}"})
        return response.status_code, response.get_json()["status"]

    assert _concurrently(2, ask) == [(200, "refunded")] * 2
    assert gateway.refund_calls == 1 and len(gateway.refunds) == 1
    with app.app_context():
        refunded = select(func.count()).where(
            OrderEvent.order_id == order["id"], OrderEvent.type == "refunded"
        )
        assert db.session.execute(refunded).scalar_one() == 1
        asked = select(func.count()).where(LicenseEvent.type == "refund_requested")
        assert db.session.execute(asked).scalar_one() == 1


def _cancel_and_pay_at_once(
    app: Flask, checkout: Api, order: dict, payload: bytes, headers: dict[str, str]
) -> list[int]:
    def act(which: int) -> int:
        client = app.test_client()
        if which == 0:
            return Api(client, checkout.key).post(f"/v1/orders/{order['id']}/cancel").status_code
        return client.post("/v1/stripe/webhook", data=payload, headers=headers).status_code

    return _concurrently(2, act)


def test_d20_a_cancel_racing_a_payment_ends_paid_or_cancelled_and_refunded(
    app: Flask, admin: Api, checkout: Api, gateway: FakeGateway
) -> None:
    """Never both (a license and a cancelled order), never neither (money kept, nothing
    bought). The fake's intents stay cancellable, as if Stripe had cancelled the intent just
    before the payment's event came: the webhook then finds the order cancelled and refunds."""
    outcomes = set()
    for n in range(6):
        customer = new_customer(admin)
        body = {
            "kind": "purchase",
            "customer_id": customer["id"],
            "edition": "pro",
            "domain": f"race{n}.example.com",
        }
        order = checkout.post("/v1/orders", json=body).get_json()
        pi = order["payment"]["payment_intent_id"]
        event = stripe_event("payment_intent.succeeded", intent(pi, charge=f"ch_{pi}"))
        payload, headers = signed(event)

        cancel_status, webhook_status = _cancel_and_pay_at_once(
            app, checkout, order, payload, headers
        )
        assert webhook_status == 200
        shown = Api(app.test_client(), checkout.key).get(f"/v1/orders/{order['id']}").get_json()
        refunds = [r for r in gateway.refunds if r["payment_intent"] == pi]
        history = [line["type"] for line in shown["history"]]
        if cancel_status == 200:
            assert (shown["status"], shown["refund_reason"]) == ("refunded", "order_cancelled")
            assert "license_key" not in shown and len(refunds) == 1 and "cancelled" in history
        else:
            assert cancel_status == 409
            assert shown["status"] == "paid" and shown["license_key"]
            assert refunds == [] and "cancelled" not in history
        outcomes.add(shown["status"])
    assert outcomes <= {"paid", "refunded"}
