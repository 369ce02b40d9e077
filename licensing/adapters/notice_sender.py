"""Posting a signed notice to a subscriber's URL over HTTP (standard library only)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Protocol

TIMEOUT_SECONDS = 10


class NoticeSender(Protocol):
    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> str | None:
        """None when the subscriber answered 2xx; otherwise why the delivery failed."""
        ...


class HttpNoticeSender:
    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> str | None:
        request = urllib.request.Request(url, data=body, method="POST", headers=dict(headers))
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
                return None if 200 <= answer.status < 300 else f"HTTP {answer.status}"
        except urllib.error.HTTPError as error:
            return f"HTTP {error.code}"
        except (urllib.error.URLError, OSError, ValueError) as error:
            return f"{type(error).__name__}: {error}"[:500]
