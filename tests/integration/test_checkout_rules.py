"""Fulfilment rules of the money path, with a fake gateway and real signed events (D7, D8, D9)."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from licensing.adapters.models import License, LicenseEvent, Order, StripeEvent
from licensing.extensions import db
from tests.factories import Api, created, import_license, new_customer, ok, problem
from tests.fakes import FakeGateway, charge, dispute, intent, sign, signed, stripe_event

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def order_for(checkout: Api, admin: Api, domain: str = "buy.example.com", **fields: Any) -> dict:
    customer = new_customer(admin)
    body = {
        "kind": "purchase",
        "customer_id": customer["id"],
        "edition": "pro",
        "domain": domain,
        **fields,
    }
    return created(checkout.post("/v1/orders", json=body))


def deliver(client: FlaskClient, event: dict, **sign_kwargs: Any):
    body, headers = signed(event, **sign_kwargs)
    return client.post("/v1/stripe/webhook", data=body, headers=headers)


def succeeded(order: dict, *, at: datetime | None = None, event_id: str | None = None) -> dict:
    pi = order["payment"]["payment_intent_id"]
    return stripe_event(
        "payment_intent.succeeded", intent(pi, charge=f"ch_{pi}"), created=at, event_id=event_id
    )


def refunded(order: dict, amount: int | None = None) -> dict:
    pi = order["payment"]["payment_intent_id"]
    full = order["price"]["amount"]
    return stripe_event(
        "charge.refunded", charge(pi, charge_id=f"ch_{pi}", amount=full, refunded=amount or full)
    )


def disputed(order: dict, status: str) -> dict:
    pi = order["payment"]["payment_intent_id"]
    kind = "charge.dispute.created" if status == "needs_response" else "charge.dispute.closed"
    return stripe_event(kind, dispute(pi, charge_id=f"ch_{pi}", status=status))


def state(checkout: Api, order: dict) -> tuple[str, str | None]:
    """(order status, license status) as the API shows them."""
    shown = ok(checkout.get(f"/v1/orders/{order['id']}"))
    if "license_key" not in shown:
        return shown["status"], None
    return shown["status"], ok(checkout.get(f"/v1/licenses/{shown['license_key']}"))["status"]


def test_d7_purchase_order_snapshots_price_and_creates_one_payment_intent(
    checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    order = order_for(checkout, admin, domain="HTTPS://WWW.Buy.Example.com/")
    assert order["status"] == "awaiting_payment" and order["kind"] == "purchase"
    assert order["domain"] == "buy.example.com"
    assert order["price"] == {"amount": 30000, "currency": "USD"}
    pi = order["payment"]["payment_intent_id"]
    assert order["payment"] == {
        "provider": "stripe",
        "payment_intent_id": pi,
        "client_secret": f"{pi}_secret_fake",
    }
    assert gateway.intents[pi]["amount"] == 30000
    assert gateway.intents[pi]["metadata"]["order_id"] == str(order["id"])
    keys = [k for k, v in gateway.by_idempotency_key.items() if v == pi]
    assert len(keys) == 1 and keys[0].endswith("-payment-intent")
    assert keys[0] != f"order-{order['id']}-payment-intent"  # random, not a database id
    expires = datetime.fromisoformat(order["expires_at"]) - datetime.fromisoformat(
        order["created_at"]
    )
    assert expires == timedelta(hours=24)  # D8
    admin.put("/v1/editions/pro", json={"price": {"amount": 99900, "currency": "USD"}})
    assert ok(checkout.get(f"/v1/orders/{order['id']}"))["price"]["amount"] == 30000  # D2


def test_d4_order_for_a_taken_domain_is_409(
    checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    customer = new_customer(admin)
    import_license(admin, customer_id=customer["id"], domain="held.example.com")
    body = {
        "kind": "purchase",
        "customer_id": customer["id"],
        "edition": "premium",
        "domain": "held.example.com",
    }
    problem(checkout.post("/v1/orders", json=body), 409, "DOMAIN_TAKEN")
    assert gateway.intents == {}


def test_order_request_is_validated_per_field(
    checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    body = {"kind": "gift", "customer_id": "7", "edition": ""}
    errors = problem(checkout.post("/v1/orders", json=body), 422, "VALIDATION_FAILED")["errors"]
    assert set(errors) == {"kind", "customer_id", "edition"}
    customer_id = new_customer(admin)["id"]
    gold = {
        "kind": "purchase",
        "customer_id": customer_id,
        "edition": "gold",
        "domain": "g.example.com",
    }
    assert (
        "edition"
        in problem(checkout.post("/v1/orders", json=gold), 422, "EDITION_NOT_FOUND")["errors"]
    )
    partial = {"kind": "purchase", "customer_id": 1, "license_key": "X"}
    errors = problem(checkout.post("/v1/orders", json=partial), 422, "VALIDATION_FAILED")["errors"]
    assert errors == {
        "edition": ["This field is required for this kind of order."],
        "domain": ["This field is required for this kind of order."],
        "license_key": ["This field is not allowed for this kind of order."],
    }
    missing = {
        "kind": "purchase",
        "customer_id": 424242,
        "edition": "pro",
        "domain": "a.example.com",
    }
    assert (
        "customer_id"
        in problem(checkout.post("/v1/orders", json=missing), 422, "CUSTOMER_NOT_FOUND")["errors"]
    )


def test_stripe_unreachable_is_502_and_leaves_no_order(
    app: Flask, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    customer = new_customer(admin)
    gateway.unavailable = True
    body = {
        "kind": "purchase",
        "customer_id": customer["id"],
        "edition": "pro",
        "domain": "x.example.com",
    }
    problem(checkout.post("/v1/orders", json=body), 502, "PAYMENT_PROVIDER_UNAVAILABLE")
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Order)).scalar_one() == 0


def test_d7_success_issues_the_license_in_the_same_transaction(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    order = order_for(checkout, admin)
    paid_at = datetime.now(UTC).replace(microsecond=0)
    assert ok(deliver(client, succeeded(order, at=paid_at))) == {
        "received": True,
        "outcome": "applied",
    }
    shown = ok(checkout.get(f"/v1/orders/{order['id']}"))
    assert shown["status"] == "paid" and shown["paid_at"] == paid_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    license = ok(checkout.get(f"/v1/licenses/{shown['license_key']}"))
    assert license["domain"] == "buy.example.com" and license["status"] == "active"
    assert license["customer_id"] == order["customer_id"] and license["channel"] == "direct"
    assert license["purchased_at"] == shown["paid_at"]  # R4 counts from the payment
    issued = license["history"][0]
    assert issued["type"] == "issued" and issued["actor"].startswith("stripe:evt_")
    assert issued["data"]["order_id"] == order["id"]
    assert [e["type"] for e in shown["history"]] == [
        "created",
        "paid",
        "license_issued",
        "status_changed",
    ]


def test_d7_the_same_event_ten_times_issues_one_license(
    app: Flask, client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    order = order_for(checkout, admin)
    event = succeeded(order)
    outcomes = [deliver(client, event).get_json()["outcome"] for _ in range(10)]
    assert outcomes == ["applied"] + ["duplicate"] * 9
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(License)).scalar_one() == 1
        issued = select(func.count()).select_from(LicenseEvent).where(LicenseEvent.type == "issued")
        assert db.session.execute(issued).scalar_one() == 1


def test_d7_a_resent_success_under_a_new_event_id_changes_nothing(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    order = order_for(checkout, admin)
    deliver(client, succeeded(order))
    before = ok(checkout.get(f"/v1/orders/{order['id']}"))
    assert deliver(client, succeeded(order)).get_json()["outcome"] == "applied"
    assert ok(checkout.get(f"/v1/orders/{order['id']}")) == before


def test_d9_full_refund_revokes_and_frees_the_domain(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    order = order_for(checkout, admin)
    deliver(client, succeeded(order))
    deliver(client, refunded(order, amount=100))  # partial: recorded, nothing revoked
    assert state(checkout, order) == ("paid", "active")
    deliver(client, refunded(order))
    assert state(checkout, order) == ("refunded", "revoked")
    import_license(admin, customer_id=order["customer_id"], domain="buy.example.com")  # D4: free


def test_d9_dispute_suspends_then_won_restores_or_lost_revokes(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    won = order_for(checkout, admin, domain="won.example.com")
    lost = order_for(checkout, admin, domain="lost.example.com")
    for order in (won, lost):
        deliver(client, succeeded(order))
        deliver(client, disputed(order, "needs_response"))
        assert state(checkout, order) == ("disputed", "suspended")
    deliver(client, disputed(won, "won"))
    deliver(client, disputed(lost, "lost"))
    assert state(checkout, won) == ("paid", "active")
    assert state(checkout, lost) == ("disputed", "revoked")


SEQUENCES = {
    "refund": (["succeeded", "refunded"], ("refunded", "revoked")),
    "dispute_lost": (["succeeded", "dispute_opened", "dispute_lost"], ("disputed", "revoked")),
    "dispute_won": (["succeeded", "dispute_opened", "dispute_won"], ("paid", "active")),
    "failed_then_paid": (["failed", "succeeded"], ("paid", "active")),
}


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_d7_events_in_any_order_end_in_the_same_state(
    name: str, client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    steps, expected = SEQUENCES[name]
    for n, permutation in enumerate(itertools.permutations(steps)):
        order = order_for(checkout, admin, domain=f"{name.replace('_', '-')}-{n}.example.com")
        events = {
            "succeeded": succeeded(order),
            "refunded": refunded(order),
            "dispute_opened": disputed(order, "needs_response"),
            "dispute_lost": disputed(order, "lost"),
            "dispute_won": disputed(order, "won"),
            "failed": stripe_event(
                "payment_intent.payment_failed",
                intent(
                    order["payment"]["payment_intent_id"],
                    status="requires_payment_method",
                    error="Your card was declined.",
                ),
            ),
        }
        for step in permutation:
            assert deliver(client, events[step]).status_code == 200
        if name == "dispute_won" and permutation.index("dispute_won") < permutation.index(
            "dispute_opened"
        ):
            continue  # a dispute cannot close before it opens; Stripe never sends that order
        assert state(checkout, order) == expected, permutation


def test_d8_payment_after_expiry_is_refunded_not_fulfilled(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    order = order_for(checkout, admin)
    late = datetime.fromisoformat(order["expires_at"]) + timedelta(seconds=1)
    deliver(client, succeeded(order, at=late))
    shown = ok(checkout.get(f"/v1/orders/{order['id']}"))
    assert shown["status"] == "refunded" and shown["refund_reason"] == "order_expired"
    assert "license_key" not in shown
    assert gateway.refunds[0]["payment_intent"] == order["payment"]["payment_intent_id"]


def test_d4_payment_for_a_domain_taken_meanwhile_is_refunded(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    first = order_for(checkout, admin, domain="race.example.com")
    second = order_for(checkout, admin, domain="race.example.com")
    deliver(client, succeeded(first))
    deliver(client, succeeded(second))
    assert state(checkout, first) == ("paid", "active")
    shown = ok(checkout.get(f"/v1/orders/{second['id']}"))
    assert (shown["status"], shown["refund_reason"]) == ("refunded", "domain_taken")
    assert len(gateway.refunds) == 1


def test_payment_failure_marks_the_order_failed_without_license(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    order = order_for(checkout, admin)
    pi = order["payment"]["payment_intent_id"]
    deliver(
        client,
        stripe_event(
            "payment_intent.payment_failed",
            intent(pi, status="requires_payment_method", error="Your card was declined."),
        ),
    )
    shown = ok(checkout.get(f"/v1/orders/{order['id']}"))
    assert shown["status"] == "failed" and shown["failure_message"] == "Your card was declined."
    assert "license_key" not in shown


def test_unknown_events_and_unknown_intents_are_acknowledged_and_ignored(
    client: FlaskClient, gateway: FakeGateway
) -> None:
    assert (
        ok(
            deliver(client, stripe_event("customer.created", {"id": "cus_1", "object": "customer"}))
        )["outcome"]
        == "ignored"
    )
    assert (
        ok(deliver(client, stripe_event("payment_intent.succeeded", intent("pi_not_ours"))))[
            "outcome"
        ]
        == "ignored"
    )


def test_bad_signatures_are_400_and_write_nothing(
    app: Flask, client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    order = order_for(checkout, admin)
    body, headers = signed(succeeded(order))
    forged = {**headers, "Stripe-Signature": sign(body, secret="whsec_attacker")}
    stale = {**headers, "Stripe-Signature": sign(body, timestamp=int(time.time()) - 301)}
    future = {**headers, "Stripe-Signature": sign(body, timestamp=int(time.time()) + 3600)}
    for attempt_body, attempt_headers in (
        (body, forged),
        (body, stale),
        (body, future),
        (body.replace(b"succeeded", b"succeedeD"), headers),
        (body, {"Content-Type": "application/json"}),
    ):
        response = client.post("/v1/stripe/webhook", data=attempt_body, headers=attempt_headers)
        problem(response, 400, "SIGNATURE_INVALID")
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(StripeEvent)).scalar_one() == 0
    assert state(checkout, order) == ("awaiting_payment", None)


def test_d8_orders_expire_after_24_hours_and_their_intents_are_cancelled(
    app: Flask, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    with time_machine.travel(NOW, tick=False):
        old = order_for(checkout, admin, domain="old.example.com")
        paid_elsewhere = order_for(checkout, admin, domain="paying.example.com")
    with time_machine.travel(NOW + timedelta(hours=23), tick=False):
        fresh = order_for(checkout, admin, domain="fresh.example.com")
    gateway.intents[paid_elsewhere["payment"]["payment_intent_id"]]["status"] = "succeeded"
    with time_machine.travel(NOW + timedelta(hours=24, seconds=1), tick=False):
        result = app.test_cli_runner().invoke(args=["orders", "expire"])
    assert result.exit_code == 0 and "expired 1 order" in result.output
    assert state(checkout, old) == ("expired", None)
    assert gateway.intents[old["payment"]["payment_intent_id"]]["status"] == "canceled"
    assert state(checkout, fresh) == ("awaiting_payment", None)
    assert state(checkout, paid_elsewhere) == ("awaiting_payment", None)  # its webhook decides


def test_d4_domain_taken_at_the_very_moment_of_payment_is_refunded_not_lost(
    client: FlaskClient,
    checkout: Api,
    admin: Api,
    gateway: FakeGateway,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The friendly check says free, the database says taken: the payment is still
    recorded, in a savepoint the license attempt is undone, and the money goes back."""
    from licensing.services import purchases

    order = order_for(checkout, admin, domain="moment.example.com")
    import_license(admin, customer_id=order["customer_id"], domain="moment.example.com")
    monkeypatch.setattr(purchases, "domain_is_free", lambda domain: True)
    assert ok(deliver(client, succeeded(order)))["outcome"] == "applied"
    shown = ok(checkout.get(f"/v1/orders/{order['id']}"))
    assert (shown["status"], shown["refund_reason"]) == ("refunded", "domain_taken")
    assert shown["paid_at"] and "license_key" not in shown


def test_d7_a_payment_short_of_the_price_is_refunded(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    order = order_for(checkout, admin)
    pi = order["payment"]["payment_intent_id"]
    short = {**intent(pi, charge="ch_short"), "amount": 1, "amount_received": 1, "currency": "usd"}
    deliver(client, stripe_event("payment_intent.succeeded", short))
    shown = ok(checkout.get(f"/v1/orders/{order['id']}"))
    assert (shown["status"], shown["refund_reason"]) == ("refunded", "amount_mismatch")
    assert "license_key" not in shown


def test_stripe_refusing_our_refund_is_recorded_and_acknowledged(
    client: FlaskClient,
    checkout: Api,
    admin: Api,
    gateway: FakeGateway,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from licensing.domain.errors import PaymentFailed

    def refuse(*args: Any, **kwargs: Any) -> str:
        raise PaymentFailed("Charge has already been refunded.")

    monkeypatch.setattr(gateway, "refund_payment_intent", refuse)
    order = order_for(checkout, admin)
    late = datetime.fromisoformat(order["expires_at"]) + timedelta(seconds=1)
    assert deliver(client, succeeded(order, at=late)).status_code == 200
    shown = ok(checkout.get(f"/v1/orders/{order['id']}"))
    assert shown["refund_reason"] == "order_expired" and shown["status"] == "paid"
    assert shown["history"][-1]["type"] in ("refund_refused", "status_changed")
    assert "refund_refused" in [e["type"] for e in shown["history"]]


def test_client_secret_only_for_checkout_and_only_while_payable(
    app: Flask, client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    from tests.factories import make_key

    order = order_for(checkout, admin)
    finance = Api(client, make_key(app, "finance"))
    assert ok(finance.get(f"/v1/orders/{order['id']}"))["payment"]["client_secret"] is None
    assert ok(checkout.get(f"/v1/orders/{order['id']}"))["payment"]["client_secret"]
    deliver(client, succeeded(order))
    assert ok(checkout.get(f"/v1/orders/{order['id']}"))["payment"]["client_secret"] is None


def test_d8_failed_orders_expire_too_and_uncancellable_ones_do_not_block_the_rest(
    app: Flask, client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    with time_machine.travel(NOW, tick=False):
        stuck = [order_for(checkout, admin, domain=f"stuck{n}.example.com") for n in range(2)]
        failed = order_for(checkout, admin, domain="failed.example.com")
    for order in stuck:
        gateway.intents[order["payment"]["payment_intent_id"]]["status"] = "succeeded"
    pi = failed["payment"]["payment_intent_id"]
    deliver(
        client,
        stripe_event(
            "payment_intent.payment_failed",
            intent(pi, status="requires_payment_method", error="declined"),
        ),
    )
    with time_machine.travel(NOW + timedelta(days=2), tick=False):
        result = app.test_cli_runner().invoke(args=["orders", "expire", "--limit", "2"])
    assert "expired 1 order" in result.output
    assert state(checkout, failed) == ("expired", None)
