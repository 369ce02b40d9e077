"""The payment provider behind one small interface; StripeGateway is the only `import stripe`."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
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


@dataclass(frozen=True)
class WebhookEvent:
    """A verified provider event, as plain data."""

    id: str
    type: str
    created: datetime
    object: Mapping[str, Any]


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
        self, payment_intent_id: str, *, metadata: Mapping[str, str], idempotency_key: str
    ) -> str: ...

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
        self, payment_intent_id: str, *, metadata: Mapping[str, str], idempotency_key: str
    ) -> str:
        with _translated_errors():
            refund = self._client.v1.refunds.create(
                params={"payment_intent": payment_intent_id, "metadata": dict(metadata)},
                options={"idempotency_key": idempotency_key},
            )
        return refund.id

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
            return WebhookEvent(
                id=str(data["id"]),
                type=str(data["type"]),
                created=datetime.fromtimestamp(int(data["created"]), UTC),
                object=data["data"]["object"],
            )
        except (KeyError, TypeError, ValueError):
            raise BadSignature("The webhook body is not a Stripe event.") from None


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
