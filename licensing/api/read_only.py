"""Views that only read, answered without a transaction (`licensing.adapters.reads`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, request

from licensing.adapters import reads

F = TypeVar("F", bound=Callable[..., Any])


def read_only(func: F) -> F:
    """Mark a view method that writes nothing: its statements (the API key's lookup too)
    run in autocommit. Every statement of such a view must stand alone."""
    func._read_only = True  # type: ignore[attr-defined]
    return func


def begin_read_only() -> None:
    """before_request, ahead of authentication: a read-only view's session autocommits."""
    view = current_app.view_functions.get(request.endpoint or "")
    view_class = getattr(view, "view_class", None)
    handler = getattr(view_class, request.method.lower(), None) if view_class else view
    if getattr(handler, "_read_only", False):
        reads.without_transaction()
