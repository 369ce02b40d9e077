"""Signing in to the pages with a single-use link mailed to the customer (D24)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from licensing.adapters.models import CustomerEvent, SignInLink
from licensing.extensions import db
from licensing.services.accounts import customer_by_email
from licensing.services.transactions import commit

LINK_LIFETIME = timedelta(minutes=15)  # D24
SESSION_LIFETIME = timedelta(hours=12)  # D24: a signed-in session lasts at most this long
PAGES = "pages"  # the actor of what a person does on the pages, with their customer id


def page_actor(customer_id: int) -> str:
    """Who did it, in a history line: the signed-in customer, by id (never the email)."""
    return f"{PAGES}:customer:{customer_id}"


@dataclass(frozen=True)
class IssuedLink:
    """A sign-in link made for a known customer: the row to sign, and where to mail it."""

    link_id: int
    email: str
    name: str


def issue_sign_in_link(*, email: str, now: datetime) -> IssuedLink | None:
    """D24: a link valid 15 minutes for the customer with this email; None when there is none
    (the page answers the same either way)."""
    customer = customer_by_email(email)
    if customer is None:
        return None
    link = SignInLink(customer_id=customer.id, created_at=now, expires_at=now + LINK_LIFETIME)
    db.session.add(link)
    _record(customer.id, "sign_in_link_sent", at=now)
    commit()
    return IssuedLink(link_id=link.id, email=customer.email, name=customer.name)


def use_sign_in_link(link_id: int, *, now: datetime) -> int | None:
    """D24: the customer the link signs in, once; None for a used, lapsed or unknown link.

    One conditional UPDATE marks it used, so two clicks at once cannot both sign in."""
    used = db.session.execute(
        update(SignInLink)
        .where(
            SignInLink.id == link_id,
            SignInLink.used_at.is_(None),
            SignInLink.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:
        return None
    customer_id = db.session.execute(
        select(SignInLink.customer_id).where(SignInLink.id == link_id)
    ).scalar_one()
    _record(customer_id, "signed_in", at=now, link_id=link_id)
    commit()
    return customer_id


def session_is_open(link_id: int, *, customer_id: int) -> bool:
    """D24: the session opened by this link is the customer's and was not signed out of.
    Checked on every page: a signed cookie copied before sign-out must not still work."""
    ended = db.session.execute(
        select(SignInLink.session_ended_at).where(
            SignInLink.id == link_id,
            SignInLink.customer_id == customer_id,
            SignInLink.used_at.is_not(None),
        )
    ).one_or_none()
    return ended is not None and ended[0] is None


def end_session(link_id: int, *, customer_id: int, now: datetime) -> None:
    """D24: sign-out; the session this link opened is refused from now on, on every server."""
    ended = db.session.execute(
        update(SignInLink)
        .where(
            SignInLink.id == link_id,
            SignInLink.customer_id == customer_id,
            SignInLink.session_ended_at.is_(None),
        )
        .values(session_ended_at=now)
        .execution_options(synchronize_session=False)
    )
    if ended.rowcount == 1:
        _record(customer_id, "signed_out", at=now, link_id=link_id)
    commit()


def _record(customer_id: int, event_type: str, *, at: datetime, **data: object) -> None:
    db.session.add(
        CustomerEvent(
            customer_id=customer_id,
            type=event_type,
            actor=page_actor(customer_id),
            at=at,
            data=data,
        )
    )
