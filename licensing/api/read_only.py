"""Views that only read, answered without a transaction (`licensing.adapters.reads`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from licensing.adapters import reads
from licensing.api.auth import view_handler

F = TypeVar("F", bound=Callable[..., Any])


def read_only(func: F) -> F:
    """Mark a view method that writes nothing: its statements (the API key's lookup too)
    run in autocommit. Every statement of such a view must stand alone."""
    func._read_only = True  # type: ignore[attr-defined]
    return func


def begin_read_only() -> None:
    """before_request, ahead of authentication: a read-only view's session autocommits."""
    if getattr(view_handler(), "_read_only", False):
        reads.without_transaction()
