"""Rate limit of `POST /v1/licenses/validate` and `/certificate`, per client IP and per key.

Built on `limits` (the engine under Flask-Limiter): a sliding window in memory by default,
or in Redis (RATE_LIMIT_STORAGE_URL=redis://...) so that every worker shares the count.

The client's hit is counted before the body is read, so a flood of unreadable bodies is
throttled like any other; the key's hit once the body has been decoded. When the store
cannot be reached the limit fails open: validation is what installed shops depend on, and
a limit that cannot count must not take it down. Each such failure is logged as a warning,
counted in `licensing_rate_limit_store_failures_total`, and shown by `/readyz`; the store
is not asked again for a few seconds, so that an outage does not slow every call.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from flask import current_app, request
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter
from prometheus_client import Counter
from werkzeug.exceptions import TooManyRequests

from licensing.api.json_body import json_body
from licensing.domain.license_keys import canonical_license_key

OFF = "off"
RETRY_STORE_AFTER = 5.0  # seconds without asking a store that just failed
STORE_TIMEOUT = 0.25  # seconds; a slow store fails open rather than stalling validation
# A certificate answers what validate answers (D22), so it shares validate's count: asking
# both ways gives a key-guesser no more tries.
RATE_LIMITED_ENDPOINTS = frozenset(
    {"licenses.LicenseValidation", "certificates.LicenseCertificate"}
)

log = logging.getLogger(__name__)
STORE_FAILURES = Counter(
    "licensing_rate_limit_store_failures",
    "Rate-limit checks let through because the rate-limit store could not be reached.",
)


class ValidateRateLimit:
    """One limit (e.g. `120/minute`) applied separately to each client IP and each key."""

    def __init__(self, rate: str, storage_uri: str) -> None:
        self.item: RateLimitItem = parse(rate)
        options = (
            {"socket_timeout": STORE_TIMEOUT, "socket_connect_timeout": STORE_TIMEOUT}
            if storage_uri.startswith(("redis://", "rediss://"))
            else {}
        )
        # A sliding-window counter: constant work per hit, unlike a moving window's log.
        self.window = SlidingWindowCounterRateLimiter(storage_from_string(storage_uri, **options))
        self._down_until = 0.0

    @property
    def store_degraded(self) -> bool:
        return time.monotonic() < self._down_until

    def hit(self, kind: str, subject: str) -> None:
        """Count one call of `subject`; 429 when over the limit, nothing when the store is down."""
        if self.store_degraded:
            return
        try:
            allowed = self.window.hit(self.item, "validate", kind, subject)
            if allowed:
                return
            reset = self.window.get_window_stats(self.item, "validate", kind, subject).reset_time
        except Exception as error:  # any store error: redis, socket, timeout
            self._fail_open(error)
            return
        retry_after = max(1, math.ceil(reset - time.time()))
        raise TooManyRequests(
            f"There were too many license checks from this "
            f"{'client' if kind == 'ip' else 'license key'}; retry in {retry_after} s.",
            retry_after=retry_after,
        )

    def check_store(self) -> bool:
        """Whether the store answers now (for `/readyz`)."""
        try:
            healthy = bool(self.window.storage.check())
        except Exception:
            healthy = False
        if healthy:
            self._down_until = 0.0
        return healthy

    def _fail_open(self, error: Exception) -> None:
        STORE_FAILURES.inc()
        self._down_until = time.monotonic() + RETRY_STORE_AFTER
        log.warning(
            "rate-limit store unreachable (%s); validation goes on unlimited for %.0f s",
            type(error).__name__,
            RETRY_STORE_AFTER,
        )


def _limit() -> ValidateRateLimit | None:
    return current_app.extensions.get("validate_rate_limit")


def count_client() -> None:
    """Before the body is read: one hit for the client's address on rate-limited routes."""
    limit = _limit()
    if limit is not None and request.endpoint in RATE_LIMITED_ENDPOINTS:
        limit.hit("ip", request.remote_addr or "unknown")


def counted_key(key: str) -> str:
    """What a key's hits are counted under: the key as the lookup reads it (D6: case, spaces
    and hyphens ignored, I/L/O as 1/1/0), so that no spelling of one key gets a count of its
    own; text that is no key, as sent. Hashed: bounded whatever was sent, and no license key
    is kept in the store."""
    counted = canonical_license_key(key) or key.strip().upper()
    return hashlib.sha256(counted.encode()).hexdigest()[:32]


def rate_limited(view: Callable[..., Any]) -> Callable[..., Any]:
    """Count the license key once the body has been decoded, before its fields are checked."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        limit = _limit()
        body = json_body()
        key = body.get("key") if isinstance(body, dict) else None
        if limit is not None and isinstance(key, str):
            limit.hit("key", counted_key(key))
        return view(*args, **kwargs)

    return wrapper
