"""How often sign-in links may be asked for (D24): per email address and per client IP, with
the same `limits` engine as validation's rate limit. The email is hashed before it is a key
in the store, so no address is kept there."""

from __future__ import annotations

import hashlib
import logging

from flask import Flask, current_app
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

PER_EMAIL = parse("5 per 15 minutes")
PER_IP = parse("30 per hour")

log = logging.getLogger(__name__)


class SignInLimits:
    def __init__(self, storage_uri: str) -> None:
        self.window = SlidingWindowCounterRateLimiter(storage_from_string(storage_uri))

    def allow(self, *, email: str, ip: str) -> bool:
        """One request for a link: False when this address or this client asked too often.
        Both are counted, so a client cannot spread its requests over many addresses unseen.
        A store that cannot be reached lets the request through (and says so in the log)."""
        hashed = hashlib.sha256(email.encode()).hexdigest()[:32]
        try:
            by_ip = self.window.hit(PER_IP, "sign-in", "ip", ip)
            by_email = self.window.hit(PER_EMAIL, "sign-in", "email", hashed)
        except Exception as error:  # any store error: redis, socket, timeout
            log.warning("sign-in rate-limit store unreachable (%s)", type(error).__name__)
            return True
        return by_ip and by_email


def init_sign_in_limits(app: Flask, storage_uri: str) -> None:
    app.extensions["sign_in_limits"] = SignInLimits(storage_uri)


def sign_in_limits() -> SignInLimits:
    limits: SignInLimits = current_app.extensions["sign_in_limits"]
    return limits
