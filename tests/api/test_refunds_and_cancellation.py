"""Staff refunds and cancellations through the API, on both databases (D20, D9)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from licensing.adapters.payments import RefundStatus
from licensing.clock import utcnow
from licensing.domain.errors import PaymentFailed
from licensing.services import order_kinds
from licensing.services.orders import expire_orders
from tests.factories import Api, created, import_license, make_key, new_customer, ok, problem
from tests.fakes import FakeGateway, charge, dispute, intent, signed, stripe_event

NOTE = "Customer bought the wrong edition (ticket 4411)"


@pytest.fixture
def finance(app: Flask, client: FlaskClient) -> Api:
    return Api(client, make_key(app, "finance"))


def deliver(client: FlaskClient, event: dict[str, Any]) -> dict[str, Any]:
    body, headers = signed(event)
    return ok(client.post("/v1/stripe/webhook", data=body, headers=headers))


def pay(client: FlaskClient, order: dict[str, Any]) -> None:
    pi = order["payment"]["payment_intent_id"]
    deliver(client, stripe_event("payment_intent.succeeded", intent(pi, charge=f"ch_{pi}")))


def charge_refunded(client: FlaskClient, order: dict[str, Any]) -> dict[str, Any]:
    pi, amount = order["payment"]["payment_intent_id"], order["price"]["amount"]
    event = charge(pi, charge_id=f"ch_{pi}", amount=amount, refunded=amount)
    return deliver(client, stripe_event("charge.refunded", event))


def purchase(checkout: Api, admin: Api, domain: str = "refund.example.com") -> dict[str, Any]:
    customer = new_customer(admin)
    body = {"kind": "purchase", "customer_id": customer["id"], "edition": "pro", "domain": domain}
    return created(checkout.post("/v1/orders", json=body))


def paid_purchase(
    client: FlaskClient, checkout: Api, admin: Api, domain: str = "refund.example.com"
) -> dict[str, Any]:
    order = purchase(checkout, admin, domain)
    pay(client, order)
    return ok(checkout.get(f"/v1/orders/{order['id']}"))


def refund(api: Api, order: dict[str, Any], note: str = NOTE) -> Any:
    return api.post(f"/v1/orders/{order['id']}/refund", json={"reason": note})


def types(history: list[dict[str, Any]]) -> list[str]:
    return [line["type"] for line in history]


# Refunds


def test_d20_staff_refund_revokes_the_purchase_and_frees_its_domain(
    client: FlaskClient, checkout: Api, admin: Api, finance: Api, gateway: FakeGateway
) -> None:
    order = paid_purchase(client, checkout, admin)
    refunded = ok(refund(finance, order))
    assert (refunded["status"], refunded["refund_reason"]) == ("refunded", "requested")
    assert refunded["payment"]["client_secret"] is None
    line = next(line for line in refunded["history"] if line["type"] == "refunded")
    assert line["actor"].startswith("api_key:") and line["data"]["note"] == NOTE
    assert line["data"]["reason"] == "requested" and line["data"]["refund_id"].startswith("re_")
    assert [r["payment_intent"] for r in gateway.refunds] == [order["payment"]["payment_intent_id"]]
    license = ok(checkout.get(f"/v1/licenses/{order['license_key']}"))
    assert license["status"] == "revoked"
    asked = next(line for line in license["history"] if line["type"] == "refund_requested")
    assert (asked["actor"], asked["data"]["note"], asked["data"]["order_id"]) == (
        line["actor"],
        NOTE,
        order["id"],
    )
    purchase(checkout, admin, "refund.example.com")  # D4: the domain is free again


def test_d20_asking_twice_refunds_once_and_answers_the_same_order(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    order = paid_purchase(client, checkout, admin)
    first = ok(refund(admin, order))
    again = ok(refund(admin, order, "asked again"))
    assert again == first
    assert gateway.refund_calls == 1 and len(gateway.refunds) == 1
    assert types(again["history"]).count("refunded") == 1


def test_d20_charge_refunded_after_a_staff_refund_changes_nothing_more(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    order = paid_purchase(client, checkout, admin)
    ok(refund(admin, order))
    license_before = ok(checkout.get(f"/v1/licenses/{order['license_key']}"))
    assert charge_refunded(client, order)["outcome"] == "applied"
    after = ok(checkout.get(f"/v1/orders/{order['id']}"))
    assert (after["status"], after["refund_reason"]) == ("refunded", "requested")
    assert types(after["history"]).count("status_changed") == 2  # paid, then refunded
    license_after = ok(checkout.get(f"/v1/licenses/{order['license_key']}"))
    assert license_after["history"] == license_before["history"]
    assert len(gateway.refunds) == 1


def test_d20_a_refund_stripe_has_only_accepted_takes_effect_with_charge_refunded(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    gateway.refund_status = RefundStatus.PENDING
    order = paid_purchase(client, checkout, admin)
    pending = ok(refund(admin, order))
    assert (pending["status"], pending["refund_reason"]) == ("paid", "requested")
    assert "refund_pending" in types(pending["history"])
    assert ok(checkout.get(f"/v1/licenses/{order['license_key']}"))["status"] == "active"
    assert ok(refund(admin, order)) == pending and gateway.refund_calls == 1
    charge_refunded(client, order)
    assert ok(checkout.get(f"/v1/orders/{order['id']}"))["status"] == "refunded"
    assert ok(checkout.get(f"/v1/licenses/{order['license_key']}"))["status"] == "revoked"


@pytest.mark.parametrize("state", ["awaiting_payment", "cancelled", "expired"])
def test_d20_an_order_not_paid_cannot_be_refunded(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway, state: str
) -> None:
    if state == "expired":
        with time_machine.travel("2026-11-01T00:00:00Z", tick=False):
            order = purchase(checkout, admin)
        with client.application.app_context():
            expire_orders(gateway=gateway, now=utcnow())
    else:
        order = purchase(checkout, admin)
        if state == "cancelled":
            ok(checkout.post(f"/v1/orders/{order['id']}/cancel"))
    body = problem(refund(admin, order), 409, "ORDER_NOT_PAID")
    assert body["current_state"] == state
    assert gateway.refund_calls == 0
    assert ok(checkout.get(f"/v1/orders/{order['id']}"))["status"] == state


def test_d20_a_disputed_order_is_left_to_its_dispute(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    order = paid_purchase(client, checkout, admin)
    pi = order["payment"]["payment_intent_id"]
    opened = dispute(pi, charge_id=f"ch_{pi}", status="needs_response")
    deliver(client, stripe_event("charge.dispute.created", opened))
    body = problem(refund(admin, order), 409, "ORDER_STATE")
    assert body["current_state"] == "disputed" and gateway.refund_calls == 0


def test_d20_stripe_unreachable_is_502_and_nothing_changes(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    order = paid_purchase(client, checkout, admin)
    gateway.unavailable = True
    problem(refund(admin, order), 502, "PAYMENT_PROVIDER_UNAVAILABLE")
    assert ok(checkout.get(f"/v1/orders/{order['id']}")) == order
    assert ok(checkout.get(f"/v1/licenses/{order['license_key']}"))["status"] == "active"
    gateway.unavailable = False
    assert ok(refund(admin, order))["status"] == "refunded"  # the retry goes through


@pytest.mark.parametrize("answer", ["refused", "failed"])
def test_d20_stripe_refusing_the_refund_is_402_and_nothing_changes(
    client: FlaskClient,
    checkout: Api,
    admin: Api,
    gateway: FakeGateway,
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
) -> None:
    order = paid_purchase(client, checkout, admin)
    if answer == "failed":
        gateway.refund_status = RefundStatus.FAILED
    else:

        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise PaymentFailed("Charge ch_x has already been refunded.")

        monkeypatch.setattr(gateway, "refund_payment_intent", refuse)
    problem(refund(admin, order), 402, "PAYMENT_FAILED")
    assert ok(checkout.get(f"/v1/orders/{order['id']}")) == order


def test_d20_d9_staff_refund_of_a_renewal_takes_its_year_back(
    client: FlaskClient, checkout: Api, admin: Api, finance: Api, gateway: FakeGateway
) -> None:
    customer = new_customer(admin)
    license = import_license(admin, customer_id=customer["id"], purchased_at="2026-01-10T00:00:00Z")
    with time_machine.travel("2026-12-01T00:00:00Z", tick=False):
        order = created(
            checkout.post("/v1/orders", json={"kind": "renewal", "license_key": license["key"]})
        )
        pay(client, order)
        renewed = ok(checkout.get(f"/v1/licenses/{license['key']}"))
        assert renewed["updates_until"] == "2028-01-10T00:00:00Z"
        assert ok(refund(finance, order))["status"] == "refunded"
    after = ok(checkout.get(f"/v1/licenses/{license['key']}"))
    assert (after["updates_until"], after["status"]) == (license["updates_until"], "active")
    assert {"refund_requested", "renewal_taken_back"} <= set(types(after["history"]))


def test_d20_staff_refund_of_an_upgrade_returns_the_license_to_pro_still_active(
    client: FlaskClient, checkout: Api, admin: Api, finance: Api, gateway: FakeGateway
) -> None:
    customer = new_customer(admin)
    license = import_license(admin, customer_id=customer["id"], purchased_at="2026-06-01T00:00:00Z")
    body = {"kind": "upgrade", "license_key": license["key"], "edition": "premium"}
    order = created(checkout.post("/v1/orders", json=body))
    pay(client, order)
    assert ok(checkout.get(f"/v1/licenses/{license['key']}"))["edition"] == "premium"
    assert ok(refund(finance, order))["status"] == "refunded"
    after = ok(checkout.get(f"/v1/licenses/{license['key']}"))
    assert (after["edition"], after["status"]) == ("pro", "active")
    assert after["updates_until"] == license["updates_until"]
    assert "refund_requested" in types(after["history"])


def test_d20_staff_refund_of_paid_work_cancels_the_quote_and_ends_its_warranty(
    app: Flask, client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    helpdesk = Api(client, make_key(app, "helpdesk"))
    customer = new_customer(admin)
    line = {"category": "design", "description": "Banner", "hours": 2}
    with time_machine.travel("2026-11-02T10:00:00Z", tick=False):
        quote = created(
            helpdesk.post("/v1/quotes", json={"customer_id": customer["id"], "lines": [line]})
        )
        ok(helpdesk.post(f"/v1/quotes/{quote['id']}/send"))
        accepted = ok(checkout.post(f"/v1/quotes/{quote['id']}/accept"))
        order = ok(checkout.get(f"/v1/orders/{accepted['order_id']}"))
        pay(client, order)
        ok(helpdesk.post(f"/v1/quotes/{quote['id']}/complete", json={}))
    with time_machine.travel("2026-11-10T10:00:00Z", tick=False):
        assert ok(refund(admin, order))["status"] == "refunded"
    shown = ok(helpdesk.get(f"/v1/quotes/{quote['id']}"))
    assert (shown["status"], shown["warranty_until"]) == ("cancelled", "2026-11-10T10:00:00Z")
    assert shown["history"][-1]["data"]["old"] == "completed"
    for at, code in (
        ("2026-11-10T10:00:00Z", "ALLOWED"),
        ("2026-11-10T10:00:01Z", "WARRANTY_ENDED"),
    ):
        query = f"department=warranty&customer_id={customer['id']}&quote_id={quote['id']}&at={at}"
        assert ok(helpdesk.get(f"/v1/entitlements?{query}"))["code"] == code


def test_d20_the_refund_reaches_each_kind_s_effect_through_the_table(
    client: FlaskClient,
    checkout: Api,
    admin: Api,
    gateway: FakeGateway,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The refund never names a kind: it asks the order's handler in `KINDS` (D9)."""
    order = paid_purchase(client, checkout, admin)
    followed: list[tuple[int, str | None]] = []
    real = dict(order_kinds.KINDS)

    class Spy:
        def __getattr__(self, name: str) -> Any:
            return getattr(real[order_kinds.OrderKind.PURCHASE], name)

        def follow_payment_facts(self, order: Any, **kwargs: Any) -> None:
            followed.append((order.id, order.status))
            real[order_kinds.OrderKind.PURCHASE].follow_payment_facts(order, **kwargs)

    monkeypatch.setattr(order_kinds, "KINDS", {**real, order_kinds.OrderKind.PURCHASE: Spy()})
    ok(refund(admin, order))
    assert followed == [(order["id"], "refunded")]


def test_d20_refund_needs_a_reason_and_a_finance_or_admin_key(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    order = paid_purchase(client, checkout, admin)
    for body in ({}, {"reason": "   "}, {"reason": "x" * 501}):
        answer = admin.post(f"/v1/orders/{order['id']}/refund", json=body)
        assert "reason" in problem(answer, 422, "VALIDATION_FAILED")["errors"]
    problem(refund(checkout, order), 403, "FORBIDDEN")
    problem(refund(admin, {"id": 999999}), 404, "ORDER_NOT_FOUND")
    assert gateway.refund_calls == 0


# Cancellation


def test_d20_cancel_an_order_awaiting_payment_cancels_its_payment_intent(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    order = purchase(checkout, admin)
    assert order["payment"]["client_secret"]
    cancelled = ok(checkout.post(f"/v1/orders/{order['id']}/cancel"))
    assert cancelled["status"] == "cancelled"
    assert cancelled["payment"]["client_secret"] is None
    assert gateway.intents[order["payment"]["payment_intent_id"]]["status"] == "canceled"
    line = next(line for line in cancelled["history"] if line["type"] == "cancelled")
    assert line["actor"].startswith("api_key:")
    assert ok(checkout.get(f"/v1/orders/{order['id']}")) == cancelled
    again = problem(checkout.post(f"/v1/orders/{order['id']}/cancel"), 409, "ORDER_STATE")
    assert again["current_state"] == "cancelled"
    # Stripe's own `payment_intent.canceled` that follows leaves it cancelled, not expired.
    pi = order["payment"]["payment_intent_id"]
    deliver(client, stripe_event("payment_intent.canceled", intent(pi, status="canceled")))
    assert ok(checkout.get(f"/v1/orders/{order['id']}"))["status"] == "cancelled"


def test_d20_a_replayed_order_shows_no_client_secret_once_cancelled(
    checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    customer = new_customer(admin)
    body = {"kind": "purchase", "customer_id": customer["id"], "edition": "pro"}
    body["domain"] = "replay.example.com"
    headers = {"Idempotency-Key": "cancel-replay"}
    order = created(checkout.post("/v1/orders", json=body, headers=headers))
    ok(checkout.post(f"/v1/orders/{order['id']}/cancel"))
    replay = checkout.post("/v1/orders", json=body, headers=headers)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json()["payment"]["client_secret"] is None


def test_d20_only_an_order_awaiting_payment_can_be_cancelled(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    order = paid_purchase(client, checkout, admin)
    body = problem(checkout.post(f"/v1/orders/{order['id']}/cancel"), 409, "ORDER_STATE")
    assert body["current_state"] == "paid"
    failed = purchase(checkout, admin, "failed.example.com")
    pi = failed["payment"]["payment_intent_id"]
    declined = intent(pi, status="requires_payment_method", error="Your card was declined.")
    deliver(client, stripe_event("payment_intent.payment_failed", declined))
    body = problem(checkout.post(f"/v1/orders/{failed['id']}/cancel"), 409, "ORDER_STATE")
    assert body["current_state"] == "failed"
    problem(checkout.post("/v1/orders/999999/cancel"), 404, "ORDER_NOT_FOUND")


def test_d20_cancel_is_502_and_changes_nothing_when_stripe_is_unreachable(
    checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    order = purchase(checkout, admin)
    gateway.unavailable = True
    problem(checkout.post(f"/v1/orders/{order['id']}/cancel"), 502, "PAYMENT_PROVIDER_UNAVAILABLE")
    gateway.unavailable = False
    assert ok(checkout.get(f"/v1/orders/{order['id']}")) == order


def test_d20_cancel_too_late_for_stripe_is_409_and_the_payment_decides(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    order = purchase(checkout, admin)
    gateway.intents[order["payment"]["payment_intent_id"]]["status"] = "succeeded"
    body = problem(checkout.post(f"/v1/orders/{order['id']}/cancel"), 409, "ORDER_STATE")
    assert body["current_state"] == "awaiting_payment"
    pay(client, order)
    paid = ok(checkout.get(f"/v1/orders/{order['id']}"))
    assert paid["status"] == "paid" and paid["license_key"]


def test_d20_a_payment_for_a_cancelled_order_is_refunded_automatically(
    client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    order = purchase(checkout, admin)
    ok(checkout.post(f"/v1/orders/{order['id']}/cancel"))
    pay(client, order)
    shown = ok(checkout.get(f"/v1/orders/{order['id']}"))
    assert (shown["status"], shown["refund_reason"]) == ("refunded", "order_cancelled")
    assert "license_key" not in shown
    assert [r["reason"] for r in gateway.refunds] == ["order_cancelled"]
    assert types(shown["history"])[:3] == ["created", "cancelled", "status_changed"]
    purchase(checkout, admin, "refund.example.com")  # no license holds the domain


def test_d20_a_cancelled_order_is_left_alone_by_expiry_and_its_quote_can_be_accepted_again(
    app: Flask, client: FlaskClient, checkout: Api, admin: Api, gateway: FakeGateway
) -> None:
    helpdesk = Api(client, make_key(app, "helpdesk"))
    customer = new_customer(admin)
    line = {"category": "design", "description": "Logo", "hours": 1}
    quote = created(
        helpdesk.post("/v1/quotes", json={"customer_id": customer["id"], "lines": [line]})
    )
    quote_sent = ok(helpdesk.post(f"/v1/quotes/{quote['id']}/send"))
    first = ok(checkout.post(f"/v1/quotes/{quote['id']}/accept"))["order_id"]
    assert ok(checkout.post(f"/v1/orders/{first}/cancel"))["status"] == "cancelled"
    second = ok(checkout.post(f"/v1/quotes/{quote['id']}/accept"))["order_id"]
    assert second != first
    with time_machine.travel("2026-12-31T00:00:00Z", tick=False), app.app_context():
        run = expire_orders(gateway=gateway, now=utcnow())
    assert run.expired == [second]
    assert ok(checkout.get(f"/v1/orders/{first}"))["status"] == "cancelled"
    # D12: accepted again only while the quote is valid (the order expired long after it).
    valid_until = datetime.fromisoformat(quote_sent["valid_until"].replace("Z", "+00:00"))
    with time_machine.travel(valid_until + timedelta(seconds=1), tick=False):
        late = problem(checkout.post(f"/v1/quotes/{quote['id']}/accept"), 409, "QUOTE_STATE")
    assert late["current_state"] == "accepted"
