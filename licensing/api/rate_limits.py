"""Rate limit of `POST /v1/licenses/validate`, per client IP and per license key.

Built on `limits` (the engine under Flask-Limiter): a sliding window in memory by default,
or in Redis (RATE_LIMIT_STORAGE_URL=redis://...) so that every worker shares the count.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from collections.abc import Callable
from typing import Any

from flask import current_app, request
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter
from werkzeug.exceptions import TooManyRequests

OFF = "off"


class ValidateRateLimit:
    """One limit (e.g. `120/minute`) applied separately to each client IP and each key."""

    def __init__(self, rate: str, storage_uri: str) -> None:
        self.item: RateLimitItem = parse(rate)
        # A sliding-window counter: constant work per hit, unlike a moving window's log.
        self.window = SlidingWindowCounterRateLimiter(storage_from_string(storage_uri))

    def check(self, *, client_ip: str, license_key: str | None) -> None:
        subjects = [("ip", client_ip)]
        if license_key:
            # Hashed: a bounded key whatever was sent, and no license key kept in the store.
            digest = hashlib.sha256(license_key.strip().upper().encode()).hexdigest()[:32]
            subjects.append(("key", digest))
        for kind, subject in subjects:
            if not self.window.hit(self.item, "validate", kind, subject):
                reset = self.window.get_window_stats(
                    self.item, "validate", kind, subject
                ).reset_time
                retry_after = max(1, math.ceil(reset - time.time()))
                raise TooManyRequests(
                    f"too many validations from this {'client' if kind == 'ip' else 'key'}; "
                    f"retry in {retry_after} s",
                    retry_after=retry_after,
                )


def rate_limited(view: Callable[..., Any]) -> Callable[..., Any]:
    """Check the limit before the body is validated (a flood of bad bodies counts too)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        limit: ValidateRateLimit | None = current_app.extensions.get("validate_rate_limit")
        if limit is not None:
            body = request.get_json(silent=True)
            key = body.get("key") if isinstance(body, dict) else None
            limit.check(
                client_ip=request.remote_addr or "unknown",
                license_key=key if isinstance(key, str) else None,
            )
        return view(*args, **kwargs)

    return wrapper
