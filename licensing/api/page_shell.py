"""What every page for people shares (D24): a signed cookie session opened for the pages only,
CSRF tokens on every form, a strict Content-Security-Policy, the signed-in customer, and
errors answered as HTML pages rather than problem+json.

The API's hot paths (validate, entitlements) never open or save a session: the session
interface looks at the path before anything else and gives every other route Flask's null
session, as the API had before the pages existed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from licensing.api.auth import public
from licensing.api.sign_in_limits import init_sign_in_limits
from licensing.clock import utcnow
from licensing.domain.errors import DomainError, Invalid, NotFound, UpstreamUnavailable
from licensing.domain.money import format_decimal
from licensing.domain.periods import rfc3339
from licensing.services.sign_in import SESSION_LIFETIME, end_session, session_is_open
from licensing.settings import Settings

STATIC = Path(__file__).resolve().parents[1] / "static" / "pages"
REAL_STRIPE = "https://js.stripe.com"
# Stripe.js from js.stripe.com talks to api.stripe.com and frames hooks.stripe.com (3-D
# Secure); a local Stripe serves its Stripe.js and its API from one origin.
REAL_STRIPE_ALSO = ("https://api.stripe.com", "https://hooks.stripe.com")

csrf = CSRFProtect()


def is_page_path(path: str) -> bool:
    """The paths that have a session: the pages themselves (not their static files)."""
    return path in ("/buy", "/account") or path.startswith(("/buy/", "/account/"))


class PageSessions(SecureCookieSessionInterface):
    """The signed cookie session (HttpOnly, SameSite=Lax, Secure in production), opened only
    for the pages; every other route gets the null session and no Set-Cookie."""

    def open_session(self, app: Flask, request: Any) -> Any:
        if not is_page_path(request.path):
            return None
        return super().open_session(app, request)


def content_security_policy(stripe_js_url: str) -> str:
    """Scripts from this service and Stripe.js's origin only; no inline script or style."""
    parts = urlsplit(stripe_js_url)
    stripe = f"{parts.scheme}://{parts.netloc}"
    also = " ".join(REAL_STRIPE_ALSO) if stripe == REAL_STRIPE else ""
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' {stripe}",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self' {stripe} {also}".rstrip(),
            f"frame-src {stripe} {also}".rstrip(),
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


def init_pages(app: Flask, settings: Settings) -> None:
    """Sessions, CSRF and the policy of the pages, set once in `create_app`."""
    app.config.update(
        SESSION_COOKIE_NAME="licensing_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        WTF_CSRF_CHECK_DEFAULT=False,  # the pages' blueprints check; the API has no session
        WTF_CSRF_TIME_LIMIT=int(SESSION_LIFETIME.total_seconds()),
        # No Referer check on HTTPS: every response says `Referrer-Policy: no-referrer`, so
        # browsers send none and a strict check refused every form. The session-bound CSRF
        # token and the SameSite=Lax cookie already stop cross-site posts.
        WTF_CSRF_SSL_STRICT=False,
    )
    app.session_interface = PageSessions()
    init_sign_in_limits(app, settings.rate_limit_storage_url)
    csrf.init_app(app)
    app.extensions["page_policy"] = content_security_policy(settings.stripe_js_url)
    app.add_url_rule("/pages/static/<path:name>", "page_static", static_file)
    app.jinja_env.globals.update(rfc3339=rfc3339, day=_day, money=format_decimal)


def _day(instant: datetime) -> str:
    return f"{instant:%-d %B %Y}"


@public
def static_file(name: str) -> Response:
    """The pages' stylesheet and script, from this service (the policy allows no other)."""
    return send_from_directory(STATIC, name, max_age=3600)


class PageBlueprint(Blueprint):
    """A blueprint of pages: its POSTs carry a CSRF token, its answers the pages' policy, and
    its errors are pages too."""

    def __init__(self, name: str, import_name: str, **options: Any) -> None:
        super().__init__(name, import_name, **options)
        self.before_request(_check_csrf)
        self.after_request(_page_headers)
        self.register_error_handler(CSRFError, _csrf_refused)
        self.register_error_handler(DomainError, _domain_error)
        self.register_error_handler(HTTPException, _http_error)
        self.context_processor(_page_context)


def _page_context() -> dict[str, Any]:
    return {"signed_in": signed_in_customer() is not None}


def _check_csrf() -> None:
    if request.method == "POST":
        csrf.protect()


def _page_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = current_app.extensions["page_policy"]
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("pages/error.html", title=title, message=message), status


def _csrf_refused(error: CSRFError) -> tuple[str, int]:
    return error_page(
        400,
        "This form has expired",
        "The form was sent without its security token or with an old one. "
        "Go back, reload the page and send it again.",
    )


def _domain_error(error: DomainError) -> tuple[str, int]:
    """A business refusal the view did not show beside a field, as a page of its own."""
    if isinstance(error, NotFound):
        return error_page(404, "Not found", "There is nothing here for your account.")
    if isinstance(error, UpstreamUnavailable):
        return error_page(502, "Payments are unavailable", f"{error} Nothing was charged.")
    if isinstance(error, Invalid):
        return error_page(422, "This cannot be done", str(error))
    return error_page(409, "This cannot be done now", str(error))


def _http_error(error: HTTPException) -> tuple[str, int]:
    status = error.code or 500
    return error_page(status, error.name, error.description or "")


def signed_in_customer() -> int | None:
    """D24: the session's customer, while the session is under 12 hours old and was not
    signed out of (checked on the server once per request: the cookie is only signed)."""
    if "signed_in_customer" not in g:
        g.signed_in_customer = _session_customer()
    return g.signed_in_customer


def _session_customer() -> int | None:
    customer_id = session.get("customer_id")
    signed_in_at = session.get("signed_in_at")
    link_id = session.get("link_id")
    if not all(isinstance(v, int) for v in (customer_id, link_id)) or not isinstance(
        signed_in_at, int | float
    ):
        return None
    too_old = utcnow().timestamp() - signed_in_at > SESSION_LIFETIME.total_seconds()
    if too_old or not session_is_open(link_id, customer_id=customer_id):
        session.clear()
        return None
    return customer_id


def start_session(customer_id: int, *, link_id: int) -> None:
    """A fresh session for the customer (nothing from before signing in is kept), tied to
    the link that opened it, so that signing out can end it on the server."""
    session.clear()
    session.permanent = True
    session["customer_id"] = customer_id
    session["link_id"] = link_id
    session["signed_in_at"] = utcnow().timestamp()
    g.pop("signed_in_customer", None)


def end_signed_in_session() -> None:
    """Sign-out: the session is ended on the server (a copy of the cookie stops working)."""
    customer_id, link_id = session.get("customer_id"), session.get("link_id")
    if isinstance(customer_id, int) and isinstance(link_id, int):
        end_session(link_id, customer_id=customer_id, now=utcnow())
    session.clear()
    g.pop("signed_in_customer", None)


def signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """The view gets `customer_id`; without a session, the sign-in page."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        customer_id = signed_in_customer()
        if customer_id is None:
            return redirect(url_for("sign_in_pages.sign_in"))
        return view(*args, customer_id=customer_id, **kwargs)

    return public(wrapper)
