"""Signing in to the pages (D24): a link mailed at once, single use, valid 15 minutes; the
same answer whether the address is known or not; limited per address and per client;
sign-out. Opening the link shows a button: the POST behind it uses the link, so a mail
scanner that fetches links cannot use it up."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import current_app, redirect, render_template, request, url_for
from itsdangerous import BadData

from licensing.adapters.mail import MailNotSent
from licensing.api.auth import public
from licensing.api.page_forms import FormErrors, email_field
from licensing.api.page_shell import (
    PageBlueprint,
    end_signed_in_session,
    error_page,
    start_session,
)
from licensing.api.sign_in_limits import Allowed, sign_in_limits
from licensing.api.signed_links import SignedLink
from licensing.clock import utcnow
from licensing.services.sign_in import (
    LINK_LIFETIME,
    IssuedLink,
    issue_sign_in_link,
    use_sign_in_link,
)

pages = PageBlueprint("sign_in_pages", __name__)
SIGN_IN_LINK = SignedLink(salt="account-sign-in", lifetime=LINK_LIFETIME)
log = logging.getLogger(__name__)


@pages.get("/account/sign-in")
@public
def sign_in() -> Any:
    return render_template("pages/sign_in.html", errors=FormErrors(), form=request.form)


@pages.post("/account/sign-in")
@public
def send_link() -> Any:
    errors = FormErrors()
    email = email_field(errors)
    if errors:
        return render_template("pages/sign_in.html", errors=errors, form=request.form), 422
    allowed = sign_in_limits().allow(email=email.lower(), ip=request.remote_addr or "unknown")
    if allowed is Allowed.REFUSE:
        return error_page(
            429,
            "Too many sign-in requests",
            "Links were asked for too often; wait a few minutes, then try again.",
        )
    issued = issue_sign_in_link(email=email, now=utcnow()) if allowed is Allowed.SEND else None
    if issued is not None:
        _mail_link(issued)
    # D24: the same page whether or not the address is known.
    return render_template("pages/link_sent.html", email=email, minutes=_minutes())


def _minutes() -> int:
    return int(LINK_LIFETIME / timedelta(minutes=1))


def _mail_link(issued: IssuedLink) -> None:
    """Sent at once (not through the outbox): the person is waiting for it."""
    settings = current_app.config["SETTINGS"]
    token = SIGN_IN_LINK.serializer().dumps(
        {"link": issued.link_id, "exp": int((utcnow() + LINK_LIFETIME).timestamp())}
    )
    url = f"{settings.public_url}{url_for('.open_link')}?token={token}"
    context = {"name": issued.name, "url": url, "minutes": _minutes()}
    try:
        current_app.extensions["mailer"].send_now(
            to=issued.email,
            subject="Your sign-in link",
            text=render_template("pages/mail/sign_in.txt", **context),
            html=render_template("pages/mail/sign_in.html", **context),
        )
    except MailNotSent as failure:  # the answer stays the same
        # Not the failure's text: the server's reply can quote the recipient's address.
        log.warning(
            "sign-in link %s not mailed: %s (SMTP code %s)",
            issued.link_id,
            failure.cause,
            failure.smtp_code,
        )


@pages.get("/account/sign-in/link")
@public
def open_link() -> Any:
    """The link's page: a button that signs in (the token is checked again on POST)."""
    SIGN_IN_LINK.claims()
    return render_template("pages/sign_in_link.html", token=request.args.get("token", ""))


@pages.post("/account/sign-in/link")
@public
def use_link() -> Any:
    link_id = _link_id(request.form.get("token", ""))
    customer_id = use_sign_in_link(link_id, now=utcnow()) if link_id is not None else None
    if customer_id is None:
        return error_page(
            400,
            "This link cannot be used",
            "Sign-in links work once, for 15 minutes. Ask for a new one on the sign-in page.",
        )
    start_session(customer_id, link_id=link_id)
    return redirect(url_for("account_pages.account"))


def _link_id(token: str) -> int | None:
    try:
        claims = SIGN_IN_LINK.serializer().loads(token)
    except BadData:  # forged, altered or not a token at all
        return None
    if not isinstance(claims, dict) or utcnow().timestamp() > claims.get("exp", 0):
        return None
    link = claims.get("link")
    return link if isinstance(link, int) else None


@pages.get("/account/sign-out")
@public
def confirm_sign_out() -> Any:
    """A page with the one button that signs out (a POST, so no link can sign anyone out)."""
    return render_template("pages/sign_out.html")


@pages.post("/account/sign-out")
@public
def sign_out() -> Any:
    end_signed_in_session()
    return redirect(url_for(".sign_in"))
