"""A payment gateway without Stripe; Stripe-shaped events signed as Stripe signs them (for
tests through HTTP and the real adapter); and the adapter's typed events (for service tests)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from licensing.adapters.payments import PaymentIntentRef, RefundRef, RefundStatus, StripeGateway
from licensing.adapters.stripe_events import (
    ChargeRefunded,
    DisputeClosed,
    DisputeOpened,
    PaymentAttemptFailed,
    PaymentCancelled,
    PaymentEvent,
    PaymentSucceeded,
    WebhookEvent,
)
from licensing.domain.errors import PaymentFailed, UpstreamUnavailable

WEBHOOK_SECRET = "whsec_local"  # the development default the test apps run with
_ids = itertools.count(1)


@dataclass
class FakeGateway:
    """Keeps intents, refunds and cancellations in memory; signatures are checked for real."""

    webhook_secret: str = WEBHOOK_SECRET
    unavailable: bool = False
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    by_idempotency_key: dict[str, str] = field(default_factory=dict)
    refund_status: RefundStatus = RefundStatus.SUCCEEDED  # what Stripe answers a new refund
    refund_calls: int = 0  # every call, replayed or not

    def __post_init__(self) -> None:
        # Never used over the network: only its signature check.
        self._verifier = StripeGateway(
            secret_key="sk_test_fake",
            webhook_secret=self.webhook_secret,
            api_base="http://127.0.0.1:9",
        )

    def _check(self) -> None:
        if self.unavailable:
            raise UpstreamUnavailable("the payment provider did not answer; retry later")

    def create_customer(self, *, email: str, name: str, idempotency_key: str) -> str:
        self._check()
        return self.by_idempotency_key.setdefault(idempotency_key, f"cus_{next(_ids)}")

    def create_payment_intent(
        self,
        *,
        amount: int,
        currency: str,
        customer: str,
        metadata: Mapping[str, str],
        idempotency_key: str,
    ) -> PaymentIntentRef:
        self._check()
        intent_id = self.by_idempotency_key.get(idempotency_key)
        if intent_id is None:
            intent_id = f"pi_{next(_ids)}"
            self.by_idempotency_key[idempotency_key] = intent_id
            self.intents[intent_id] = {
                "amount": amount,
                "currency": currency,
                "customer": customer,
                "metadata": dict(metadata),
                "status": "requires_payment_method",
            }
        return PaymentIntentRef(id=intent_id, client_secret=f"{intent_id}_secret_fake")

    def pay_with_card(self, payment_intent_id: str, *, card: str) -> str:
        """`card_declined` is declined, as Stripe's test card 4000000000000341 is."""
        self._check()
        intent = self.intents[payment_intent_id]
        if card == "card_declined":
            intent["status"] = "requires_payment_method"
            raise PaymentFailed("Your card was declined.")
        intent["status"] = "succeeded"
        return "succeeded"

    def cancel_payment_intent(self, payment_intent_id: str) -> bool:
        self._check()
        intent = self.intents[payment_intent_id]
        if intent["status"] == "succeeded":
            return False
        intent["status"] = "canceled"
        return True

    def refund_payment_intent(
        self,
        payment_intent_id: str,
        *,
        metadata: Mapping[str, str],
        idempotency_key: str,
        charge_id: str | None = None,
    ) -> RefundRef:
        """Like Stripe: the same key replays the first answer, as it was then."""
        self._check()
        self.refund_calls += 1
        existing = self.by_idempotency_key.get(idempotency_key)
        if existing:
            first = next(refund for refund in self.refunds if refund["id"] == existing)
            return RefundRef(id=existing, status=first["status"])
        refund_id = f"re_{next(_ids)}"
        self.by_idempotency_key[idempotency_key] = refund_id
        self.refunds.append(
            {
                "id": refund_id,
                "payment_intent": payment_intent_id,
                "charge": charge_id,
                "status": self.refund_status,
                **metadata,
            }
        )
        return RefundRef(id=refund_id, status=self.refund_status)

    def verify_event(self, payload: bytes, signature: str | None) -> WebhookEvent:
        return self._verifier.verify_event(payload, signature)


def stripe_event(
    kind: str,
    obj: Mapping[str, Any],
    *,
    created: datetime | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """An event as Stripe sends it (only the fields the service reads, plus the envelope)."""
    return {
        "id": event_id or f"evt_{next(_ids)}",
        "object": "event",
        "type": kind,
        "created": int(created.timestamp() if created else time.time()),
        "livemode": False,
        "api_version": "2024-06-20",
        "data": {"object": dict(obj)},
    }


def sign(body: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Stripe's scheme: `t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">`."""
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def signed(event: Mapping[str, Any], **kwargs: Any) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    return body, {"Stripe-Signature": sign(body, **kwargs), "Content-Type": "application/json"}


def intent(
    intent_id: str,
    *,
    status: str = "succeeded",
    charge: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": intent_id,
        "object": "payment_intent",
        "status": status,
        "latest_charge": charge,
    }
    if error:
        obj["last_payment_error"] = {"code": "card_declined", "message": error}
    return obj


def charge(intent_id: str, *, charge_id: str, amount: int, refunded: int = 0) -> dict[str, Any]:
    return {
        "id": charge_id,
        "object": "charge",
        "payment_intent": intent_id,
        "amount": amount,
        "amount_refunded": refunded,
        "refunded": refunded == amount,
    }


def dispute(intent_id: str, *, charge_id: str, status: str) -> dict[str, Any]:
    return {
        "id": f"dp_{next(_ids)}",
        "object": "dispute",
        "charge": charge_id,
        "payment_intent": intent_id,
        "status": status,
    }


# The service's typed events, as `StripeGateway.verify_event` hands them over.

STRIPE_TYPES: dict[type[PaymentEvent], str] = {
    PaymentSucceeded: "payment_intent.succeeded",
    PaymentAttemptFailed: "payment_intent.payment_failed",
    PaymentCancelled: "payment_intent.canceled",
    ChargeRefunded: "charge.refunded",
    DisputeOpened: "charge.dispute.created",
    DisputeClosed: "charge.dispute.closed",
}


def delivered(payment: PaymentEvent, *, event_id: str | None = None) -> WebhookEvent:
    """A verified event carrying `payment`, under a fresh event id unless one is given."""
    return WebhookEvent(
        id=event_id or f"evt_{next(_ids)}", type=STRIPE_TYPES[type(payment)], payment=payment
    )


def _at(at: datetime | None) -> datetime:
    return at or datetime.now(UTC)


def payment_succeeded(
    intent_id: str,
    *,
    charge_id: str | None = None,
    amount: int | None = None,
    currency: str | None = None,
    at: datetime | None = None,
    event_id: str | None = None,
) -> WebhookEvent:
    """Paid; without `amount` the payment is judged by the intent the service created."""
    paid = PaymentSucceeded(
        intent_id=intent_id,
        charge_id=charge_id or f"ch_{next(_ids)}",
        amount=amount,
        currency=currency,
        at=_at(at),
    )
    return delivered(paid, event_id=event_id)


def payment_failed(
    intent_id: str, *, reason: str = "Your card was declined.", at: datetime | None = None
) -> WebhookEvent:
    return delivered(PaymentAttemptFailed(intent_id=intent_id, reason=reason, at=_at(at)))


def payment_cancelled(intent_id: str, *, at: datetime | None = None) -> WebhookEvent:
    return delivered(PaymentCancelled(intent_id=intent_id, at=_at(at)))


def charge_refunded(
    intent_id: str,
    *,
    charge_id: str | None = None,
    amount_refunded: int,
    full: bool = True,
    at: datetime | None = None,
) -> WebhookEvent:
    refund = ChargeRefunded(
        intent_id=intent_id,
        charge_id=charge_id,
        amount_refunded=amount_refunded,
        full=full,
        at=_at(at),
    )
    return delivered(refund)


def dispute_opened(
    intent_id: str, *, charge_id: str | None = None, at: datetime | None = None
) -> WebhookEvent:
    opened = DisputeOpened(
        intent_id=intent_id, charge_id=charge_id, dispute_id=f"dp_{next(_ids)}", at=_at(at)
    )
    return delivered(opened)


def dispute_closed(
    intent_id: str, *, won: bool, charge_id: str | None = None, at: datetime | None = None
) -> WebhookEvent:
    closed = DisputeClosed(
        intent_id=intent_id,
        charge_id=charge_id,
        dispute_id=f"dp_{next(_ids)}",
        won=won,
        at=_at(at),
    )
    return delivered(closed)
