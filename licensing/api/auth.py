"""Bearer API keys and per-route scopes, checked before any request is parsed."""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from typing import Any, TypeVar

from flask import current_app, g, request
from flask_smorest.utils import deepupdate
from werkzeug.exceptions import Forbidden, Unauthorized

from licensing.domain.access import ADMIN, Principal
from licensing.services import api_keys

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC: frozenset[str] = frozenset()
SECURITY_SCHEME = {"type": "http", "scheme": "bearer", "description": "An API key"}


def requires(*scopes: str) -> Callable[[F], F]:
    """Declare the scopes a view method accepts; `admin` always may (`requires(ADMIN)`)."""
    if not scopes:
        raise ValueError("name the scopes; use @public for a route anyone may call")
    return _declare(frozenset(scopes) | {ADMIN})


def public(func: F) -> F:
    """A route anyone may call (shop installations, health checks)."""
    return _declare(PUBLIC)(func)


def _declare(required: frozenset[str]) -> Callable[[F], F]:
    """Mark the view and write its scopes into its OpenAPI operation (`x-scopes`), so the
    document says who may call what and tests can walk it."""

    def decorate(func: F) -> F:
        func._required_scopes = required  # type: ignore[attr-defined]
        doc = {
            "security": [{"bearerAuth": []}] if required else [],
            "x-scopes": sorted(required),
        }
        apidoc = deepcopy(getattr(func, "_apidoc", {}))
        apidoc["manual_doc"] = deepupdate(deepcopy(apidoc.get("manual_doc", {})), doc)
        func._apidoc = apidoc  # type: ignore[attr-defined]
        return func

    return decorate


def _required_scopes() -> frozenset[str] | None:
    """The scopes of the view that will handle this request; None for unknown routes."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None:
        return None
    if request.method == "OPTIONS" or request.blueprint == "api-docs":
        return PUBLIC
    # A route that forgot to declare its scopes is admin-only rather than open.
    return getattr(view_handler(), "_required_scopes", frozenset({ADMIN}))


def view_handler() -> Any:
    """The view function (or view class method) that will handle this request."""
    view = current_app.view_functions.get(request.endpoint or "")
    view_class = getattr(view, "view_class", None)
    method = "get" if request.method == "HEAD" else request.method.lower()
    return getattr(view_class, method, None) if view_class else view


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate_request() -> None:
    """before_request: 401 without a known key, 403 without the route's scope."""
    g.principal = None
    required = _required_scopes()
    if not required:
        return
    token = _bearer_token()
    principal = None
    if token and getattr(view_handler(), "_confirms_key", False):
        principal = api_keys.remembered(token)  # the view's statement confirms it
        g.key_to_confirm = principal.key_id if principal else None
    if principal is None:
        principal = api_keys.authenticate(token) if token else None
    if principal is None:
        raise Unauthorized("A valid API key is required: send Authorization: Bearer <key>.")
    if not principal.may(required, request.view_args or {}):
        raise Forbidden("This API key's scopes do not allow this request.")
    g.principal = principal


def confirms_key(func: F) -> F:
    """Mark a hot view whose own statement confirms a remembered API key is still active
    (`api_keys.key_is_active`): no statement of its own for the key (issue 20). The view
    passes `key_to_confirm()` to its service."""
    func._confirms_key = True  # type: ignore[attr-defined]
    return func


def key_to_confirm() -> int | None:
    """The id of the remembered key this request still has to confirm, if any."""
    return g.get("key_to_confirm")


def current_principal() -> Principal:
    """The caller of an authenticated route."""
    principal: Principal | None = g.get("principal")
    if principal is None:  # pragma: no cover - only reachable from a public route by mistake
        raise Unauthorized("A valid API key is required.")
    return principal
