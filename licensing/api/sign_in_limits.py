"""How often sign-in links may be asked for (D24), with the same `limits` engine as
validation's rate limit. The email is hashed before it is a key in the store, so no address
is kept there.

Per address *and client*, not per address alone: a limit anyone can use up would let a
stranger lock the owner out. The address's overall cap (every client together) still keeps
its inbox from being flooded; past it the page answers as usual but nothing is sent, so
neither the cap nor the address is revealed."""

from __future__ import annotations

import hashlib
import logging
from enum import Enum

from flask import Flask, current_app
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

PER_EMAIL_AND_CLIENT = parse("5 per 15 minutes")  # over it: 429
PER_IP = parse("30 per hour")  # over it: 429
PER_EMAIL = parse("20 per hour")  # every client together; over it: the same page, no mail


class Allowed(Enum):
    SEND = "send"  # issue and mail a link
    QUIET = "quiet"  # answer as if sent, send nothing (the address's overall cap)
    REFUSE = "refuse"  # 429: this client asked too often


log = logging.getLogger(__name__)


class SignInLimits:
    def __init__(self, storage_uri: str) -> None:
        self.window = SlidingWindowCounterRateLimiter(storage_from_string(storage_uri))

    def allow(self, *, email: str, ip: str) -> Allowed:
        """One request for a link. REFUSE when this client asked too often (for any address,
        or for this one); QUIET when the address itself had its share from all clients.
        A store that cannot be reached lets the request through (and says so in the log)."""
        hashed = hashlib.sha256(email.encode()).hexdigest()[:32]
        try:
            by_ip = self.window.hit(PER_IP, "sign-in", "ip", ip)
            by_client = self.window.hit(PER_EMAIL_AND_CLIENT, "sign-in", "email-ip", hashed, ip)
            if not (by_ip and by_client):
                return Allowed.REFUSE
            by_email = self.window.hit(PER_EMAIL, "sign-in", "email", hashed)
        except Exception as error:  # any store error: redis, socket, timeout
            log.warning("sign-in rate-limit store unreachable (%s)", type(error).__name__)
            return Allowed.SEND
        return Allowed.SEND if by_email else Allowed.QUIET


def init_sign_in_limits(app: Flask, storage_uri: str) -> None:
    app.extensions["sign_in_limits"] = SignInLimits(storage_uri)


def sign_in_limits() -> SignInLimits:
    limits: SignInLimits = current_app.extensions["sign_in_limits"]
    return limits
