"""What a provider's webhook event says about a payment, in the service's own terms.

The typed events (`PaymentSucceeded(intent_id, charge_id, amount, currency, at)` ...) and the
reading of a Stripe event's verified body into them: with `payments.py` (which checks the
signature), the only module that knows Stripe's field names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from licensing.domain.errors import BadSignature


@dataclass(frozen=True, kw_only=True)
class PaymentEvent:
    """What one provider event says about one payment, in the service's terms: the
    PaymentIntent it is about, the charge too when the event names one, and when it
    happened. Past this module nobody reads a Stripe field."""

    intent_id: str | None
    charge_id: str | None = None
    at: datetime


@dataclass(frozen=True, kw_only=True)
class PaymentSucceeded(PaymentEvent):
    """The money was taken; `amount` and `currency` are what was received, when said."""

    amount: int | None = None
    currency: str | None = None


@dataclass(frozen=True, kw_only=True)
class PaymentAttemptFailed(PaymentEvent):
    """An attempt to pay was declined; the customer may try again while the order lives."""

    reason: str


@dataclass(frozen=True, kw_only=True)
class PaymentCancelled(PaymentEvent):
    """The PaymentIntent was cancelled: it can no longer be paid."""


@dataclass(frozen=True, kw_only=True)
class ChargeRefunded(PaymentEvent):
    """Money went back on a charge: all of it (`full`) or a part."""

    amount_refunded: int | None
    full: bool


@dataclass(frozen=True, kw_only=True)
class DisputeOpened(PaymentEvent):
    """The card holder disputed the charge."""

    dispute_id: str | None


@dataclass(frozen=True, kw_only=True)
class DisputeClosed(PaymentEvent):
    """The dispute is over: `won` by us, or lost (the money stays with the card holder)."""

    dispute_id: str | None
    won: bool


@dataclass(frozen=True)
class WebhookEvent:
    """A verified provider event: its id (applied once), its type, and what it says about a
    payment (None: a type the service does not act on, or one that names no payment)."""

    id: str
    type: str
    payment: PaymentEvent | None


def parse_event(payload: bytes) -> WebhookEvent:
    """A webhook body whose signature was verified, as the service's typed event."""
    try:
        data = json.loads(payload)  # the verified bytes, as plain data
        event_id, event_type = str(data["id"]), str(data["type"])
        at = datetime.fromtimestamp(int(data["created"]), UTC)
        obj = data["data"]["object"]
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        # OverflowError/OSError: a `created` no datetime can hold (year past 9999).
        raise BadSignature("The webhook body is not a Stripe event.") from None
    payment = translate(event_type, obj, at) if isinstance(obj, Mapping) else None
    return WebhookEvent(id=event_id, type=event_type, payment=payment)


def translate(event_type: str, obj: Mapping[str, Any], at: datetime) -> PaymentEvent | None:
    """A Stripe event's object as the service's payment event; None for a type the service
    does not act on, or for a PaymentIntent event that names no PaymentIntent."""
    translation = _TRANSLATIONS.get(event_type)
    return translation(obj, at) if translation is not None else None


def _succeeded(intent: Mapping[str, Any], at: datetime) -> PaymentSucceeded | None:
    # `amount_received` is what was taken; older API versions only said `amount`.
    received = intent.get("amount_received", intent.get("amount"))
    intent_id = _text(intent.get("id"))
    return (
        PaymentSucceeded(
            intent_id=intent_id,
            charge_id=_id_of(intent.get("latest_charge")),  # an id, or expanded to an object
            amount=received if isinstance(received, int) else None,
            currency=_text(intent.get("currency")),
            at=at,
        )
        if intent_id
        else None
    )


def _failed(intent: Mapping[str, Any], at: datetime) -> PaymentAttemptFailed | None:
    error = intent.get("last_payment_error")
    error = error if isinstance(error, Mapping) else {}
    reason = str(error.get("message") or error.get("code") or "the payment failed")
    intent_id = _text(intent.get("id"))
    return PaymentAttemptFailed(intent_id=intent_id, reason=reason, at=at) if intent_id else None


def _cancelled(intent: Mapping[str, Any], at: datetime) -> PaymentCancelled | None:
    intent_id = _text(intent.get("id"))
    return PaymentCancelled(intent_id=intent_id, at=at) if intent_id else None


def _refunded(charge: Mapping[str, Any], at: datetime) -> ChargeRefunded:
    refunded = charge.get("amount_refunded")
    return ChargeRefunded(
        **_charge_refs(charge),
        amount_refunded=refunded if isinstance(refunded, int) else None,
        full=bool(charge.get("refunded")) or refunded == charge.get("amount"),
        at=at,
    )


def _dispute_opened(dispute: Mapping[str, Any], at: datetime) -> DisputeOpened:
    return DisputeOpened(**_charge_refs(dispute), dispute_id=_text(dispute.get("id")), at=at)


def _dispute_closed(dispute: Mapping[str, Any], at: datetime) -> DisputeClosed:
    # https://docs.stripe.com/api/disputes/object#dispute_object-status: only `lost` loses;
    # `won` and the `warning_*` outcomes leave the money with us.
    return DisputeClosed(
        **_charge_refs(dispute),
        dispute_id=_text(dispute.get("id")),
        won=dispute.get("status") != "lost",
        at=at,
    )


def _charge_refs(obj: Mapping[str, Any]) -> dict[str, str | None]:
    """A charge and a dispute both name a PaymentIntent; a charge is its own charge id."""
    charge = obj.get("id") if obj.get("object") == "charge" else obj.get("charge")
    return {"intent_id": _id_of(obj.get("payment_intent")), "charge_id": _id_of(charge)}


def _id_of(reference: Any) -> str | None:
    """Stripe names a related object by its id, or gives the object when it is expanded."""
    if isinstance(reference, Mapping):
        return _text(reference.get("id"))
    return _text(reference)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


_TRANSLATIONS: dict[str, Callable[[Mapping[str, Any], datetime], PaymentEvent | None]] = {
    "payment_intent.succeeded": _succeeded,
    "payment_intent.payment_failed": _failed,
    "payment_intent.canceled": _cancelled,
    "charge.refunded": _refunded,
    "charge.dispute.created": _dispute_opened,
    "charge.dispute.closed": _dispute_closed,
}
