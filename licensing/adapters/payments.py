"""The payment provider behind one small interface; StripeGateway is the only `import stripe`.

What a verified webhook event says is read in `stripe_events.py`, in the service's terms."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import stripe

from licensing.adapters.stripe_events import WebhookEvent, parse_event
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
        return parse_event(payload)


def refund_status(status: str | None) -> RefundStatus:
    """https://docs.stripe.com/api/refunds/object#refund_object-status: `requires_action`
    is still on its way; `canceled` is as good as failed. An unknown status waits for
    `charge.refunded`."""
    if status == "succeeded":
        return RefundStatus.SUCCEEDED
    if status in ("failed", "canceled"):
        return RefundStatus.FAILED
    return RefundStatus.PENDING


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
