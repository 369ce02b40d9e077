"""The payment provider behind one small interface; StripeGateway is the only `import stripe`."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

import stripe

from licensing.clock import utcnow
from licensing.domain.errors import BadSignature, PaymentFailed, UpstreamUnavailable

log = logging.getLogger(__name__)
SIGNATURE_TOLERANCE = 300  # seconds either side of now, Stripe's default


@dataclass(frozen=True)
class PaymentIntentRef:
    id: str
    client_secret: str


class RefundStatus(StrEnum):
    """Where a refund stands in Stripe's answer: made, on its way, or not made."""

    SUCCEEDED = "succeeded"
    PENDING = "pending"
    FAILED = "failed"


@dataclass(frozen=True)
class RefundRef:
    """Stripe's answer to a refund: its id, and whether the money has gone back yet."""

    id: str
    status: RefundStatus


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


class PaymentGateway(Protocol):
    """What the service needs from a payment provider."""

    def create_customer(self, *, email: str, name: str, idempotency_key: str) -> str: ...

    def create_payment_intent(
        self,
        *,
        amount: int,
        currency: str,
        customer: str,
        metadata: Mapping[str, str],
        idempotency_key: str,
    ) -> PaymentIntentRef: ...

    def cancel_payment_intent(self, payment_intent_id: str) -> bool:
        """True once cancelled; False when it can no longer be (it succeeded or is processing)."""
        ...

    def refund_payment_intent(
        self,
        payment_intent_id: str,
        *,
        metadata: Mapping[str, str],
        idempotency_key: str,
        charge_id: str | None = None,
    ) -> RefundRef:
        """The whole payment back, of the charge when it is known (the one Stripe reported
        paid), else of the intent; the same key answers the same refund, never a second."""
        ...

    def pay_with_card(self, payment_intent_id: str, *, card: str) -> str:
        """Confirm the intent with a card Stripe.js collected in the browser (`card`: its id,
        never a number); the intent's status after it, or PaymentFailed for a decline."""
        ...

    def verify_event(self, payload: bytes, signature: str | None) -> WebhookEvent: ...


class StripeGateway:
    """Stripe through the official SDK; `api_base` points it at a local Stripe in development.

    Only parameters that both Stripe and localstripe accept are sent (localstripe rejects
    unknown ones); every creating call carries an idempotency key derived from our own ids,
    so the SDK's retries, or ours, never create a second object.
    """

    def __init__(self, *, secret_key: str, webhook_secret: str, api_base: str | None) -> None:
        addresses: Any = {"api": api_base} if api_base else None
        self._client = stripe.StripeClient(
            secret_key, base_addresses=addresses, max_network_retries=2
        )
        self._webhook_secret = webhook_secret

    def create_customer(self, *, email: str, name: str, idempotency_key: str) -> str:
        with _translated_errors():
            customer = self._client.v1.customers.create(
                params={"email": email, "name": name},
                options={"idempotency_key": idempotency_key},
            )
        return customer.id

    def create_payment_intent(
        self,
        *,
        amount: int,
        currency: str,
        customer: str,
        metadata: Mapping[str, str],
        idempotency_key: str,
    ) -> PaymentIntentRef:
        with _translated_errors():
            intent = self._client.v1.payment_intents.create(
                params={
                    "amount": amount,
                    "currency": currency.lower(),
                    "customer": customer,
                    "metadata": dict(metadata),
                },
                options={"idempotency_key": idempotency_key},
            )
        return PaymentIntentRef(id=intent.id, client_secret=intent.client_secret or "")

    def cancel_payment_intent(self, payment_intent_id: str) -> bool:
        try:
            with _translated_errors():
                self._client.v1.payment_intents.cancel(payment_intent_id)
        except PaymentFailed:
            # Stripe refuses to cancel an intent that succeeded, is processing, or is already
            # cancelled; only the last counts as cancelled.
            with _translated_errors():
                intent = self._client.v1.payment_intents.retrieve(payment_intent_id)
            return intent.status == "canceled"
        return True

    def refund_payment_intent(
        self,
        payment_intent_id: str,
        *,
        metadata: Mapping[str, str],
        idempotency_key: str,
        charge_id: str | None = None,
    ) -> RefundRef:
        # Stripe takes either the charge or the intent, never both.
        paid: dict[str, Any] = (
            {"charge": charge_id} if charge_id else {"payment_intent": payment_intent_id}
        )
        with _translated_errors():
            refund = self._client.v1.refunds.create(
                params={**paid, "metadata": dict(metadata)},
                options={"idempotency_key": idempotency_key},
            )
        return RefundRef(id=refund.id, status=refund_status(refund.status))

    def pay_with_card(self, payment_intent_id: str, *, card: str) -> str:
        """Server-side confirmation (Stripe's "finalize payments on the server"): the card is
        set on the intent, then the intent confirmed. `succeeded` or `processing` is then up to
        the webhook (D7); `requires_action` (3-D Secure) is completed by Stripe.js in the page
        with the client secret. localstripe's Stripe.js cannot confirm with a card itself,
        which is why the page does not call confirmCardPayment first."""
        with _translated_errors():
            self._client.v1.payment_intents.update(
                payment_intent_id, params={"payment_method": card}
            )
            intent = self._client.v1.payment_intents.confirm(payment_intent_id)
        return str(intent.status)

    def verify_event(self, payload: bytes, signature: str | None) -> WebhookEvent:
        """Check `Stripe-Signature` (HMAC-SHA256 of "t.body"), stamped within 5 minutes of now.

        The SDK refuses a timestamp more than its tolerance in the past; one as far in the
        future is refused here, so that a signed event cannot be kept for replay later.
        """
        if not signature:
            raise BadSignature("The Stripe-Signature header is missing.")
        try:
            stripe.Webhook.construct_event(
                payload, signature, self._webhook_secret, tolerance=SIGNATURE_TOLERANCE
            )
        except stripe.SignatureVerificationError:
            raise BadSignature("The Stripe-Signature header does not match this body.") from None
        except ValueError:
            raise BadSignature("The webhook body is not a Stripe event.") from None
        if _signed_at(signature) > utcnow().timestamp() + SIGNATURE_TOLERANCE:
            raise BadSignature(
                "The Stripe-Signature header is stamped more than 5 minutes in the future."
            )
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


def refund_status(status: str | None) -> RefundStatus:
    """https://docs.stripe.com/api/refunds/object#refund_object-status: `requires_action`
    is still on its way; `canceled` is as good as failed. An unknown status waits for
    `charge.refunded`."""
    if status == "succeeded":
        return RefundStatus.SUCCEEDED
    if status in ("failed", "canceled"):
        return RefundStatus.FAILED
    return RefundStatus.PENDING


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


def _signed_at(signature: str) -> int:
    """The `t=` of a header the SDK has already verified (so it is there and numeric)."""
    stamps = [item.split("=", 1)[1] for item in signature.split(",") if item.startswith("t=")]
    return int(stamps[0])


@contextmanager
def _translated_errors() -> Iterator[None]:
    """Stripe's exceptions as the domain's: unreachable or misconfigured -> 502, refused -> 402."""
    try:
        yield
    except (
        stripe.APIConnectionError,
        stripe.RateLimitError,
        stripe.APIError,
        stripe.AuthenticationError,
    ) as error:
        log.warning("Stripe unavailable: %s", type(error).__name__)
        raise UpstreamUnavailable("The payment provider did not answer; retry later.") from None
    except stripe.StripeError as error:
        message = (
            getattr(error, "user_message", None) or "The payment provider refused the payment."
        )
        raise PaymentFailed(str(message)) from None
