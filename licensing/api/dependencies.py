"""What the views take from the app rather than import: the collaborators `create_app` wires."""

from __future__ import annotations

from flask import current_app

from licensing.adapters.payments import PaymentGateway


def payment_gateway() -> PaymentGateway:
    """The app's gateway: Stripe's in production, a fake one in tests."""
    gateway: PaymentGateway = current_app.extensions["payments"]
    return gateway
