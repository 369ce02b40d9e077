"""Customer accounts (R2) and partners, the resellers who support what they sell (R3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from licensing.adapters.models import Customer, Partner
from licensing.adapters.models.accounts import EMAIL_INDEX
from licensing.domain.access import customer_in_sight
from licensing.domain.emails import normalize_email
from licensing.domain.errors import Conflict, Invalid, NotFound
from licensing.extensions import db
from licensing.services.history import HistoryLine, history_lines
from licensing.services.transactions import commit, flush, violated

# D24's unique index (migration 0014); PostgreSQL and SQLite both name it in a violation.
EMAIL_UNIQUE = (EMAIL_INDEX,)


def email_key(email: Any) -> Any:
    """D24: a customer's email as the unique index compares it, lower(trim(email)), so that
    a lookup reads the index and agrees with it on every row, however it was written."""
    return func.lower(func.trim(email))


def customer_by_email(email: str) -> Customer | None:
    """D24: the customer whose email is this one, trimmed and case-insensitively."""
    return db.session.execute(
        select(Customer).where(email_key(Customer.email) == normalize_email(email))
    ).scalar_one_or_none()


def create_customer(
    *, email: str, name: str, partner_id: int | None = None, now: datetime
) -> Customer:
    """One account per email address, compared case-insensitively after trimming (D24);
    created with a partner's key (`partner_id`), it is that partner's customer (D26).

    409 EMAIL_TAKEN when the email is taken; the unique index decides a race."""
    email = normalize_email(email)
    if partner_id is not None and db.session.get(Partner, partner_id) is None:
        raise Invalid.field(
            "partner_id", "This API key's partner does not exist.", code="PARTNER_NOT_FOUND"
        )
    if customer_by_email(email) is not None:
        raise _email_taken(email, partner_id=partner_id)
    customer = Customer(email=email, name=name.strip(), partner_id=partner_id, created_at=now)
    db.session.add(customer)
    try:
        commit()
    except IntegrityError as error:  # another request took the email meanwhile
        if not violated(error, EMAIL_UNIQUE):
            raise
        # Inside a savepoint nothing can be read until the caller rolls back to it.
        readable = not db.session().in_nested_transaction()
        raise _email_taken(email, partner_id=partner_id, look_up=readable) from None
    return customer


def find_or_create_customer(*, email: str, name: str, now: datetime) -> Customer:
    """D24 for the buy page: the customer with this email, or a new one with this name.

    A race with another request creating the same email is settled by the unique index: the
    loser's insert is undone in its savepoint and it reads the winner's row. An existing
    customer's name is left as it is (the page is no place to rename an account). Commits
    through `commit()`, so inside a caller's `unit_of_work()` it is part of that unit."""
    found = customer_by_email(email)
    if found is not None:
        return found
    customer = Customer(email=normalize_email(email), name=name.strip(), created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(customer)
            flush()
    except IntegrityError as error:
        if not violated(error, EMAIL_UNIQUE):
            raise
        winner = customer_by_email(email)
        assert winner is not None  # the index refused the row because this one exists
        return winner
    commit()
    return customer


def _email_taken(email: str, *, partner_id: int | None, look_up: bool = True) -> Conflict:
    """409 naming the customer who has the email, unless the caller is a partner and that
    customer is not its own (D26: a partner learns no other customer's id)."""
    holder = (
        db.session.execute(
            select(Customer.id, Customer.partner_id).where(email_key(Customer.email) == email)
        ).first()
        if look_up
        else None
    )
    extra: dict[str, object] = {}
    if holder is not None and customer_in_sight(holder.partner_id, partner_id=partner_id):
        extra["customer_id"] = holder.id
    return Conflict(
        f"A customer with the email {email} exists already.", code="EMAIL_TAKEN", extra=extra
    )


def get_customer(
    customer_id: int, *, partner_id: int | None = None, with_history: bool = False
) -> Customer:
    """A customer; for a partner (`partner_id`) only one of its own, any other answered
    exactly as an unknown id (D26)."""
    options = [selectinload(Customer.history)] if with_history else []
    customer = db.session.get(Customer, customer_id, options=options, populate_existing=True)
    if customer is None or not customer_in_sight(customer.partner_id, partner_id=partner_id):
        raise NotFound(
            f"There is no customer with the id {customer_id}.", code="CUSTOMER_NOT_FOUND"
        )
    return customer


def named_customer(customer_id: int, *, partner_id: int | None = None) -> Customer:
    """The customer a request's body names. One that does not exist (for a partner, one not
    its own, D26) is input that breaks a rule: 422 naming `customer_id`, CUSTOMER_NOT_FOUND.
    A customer named in the path is `get_customer`'s, and a 404."""
    customer = db.session.get(Customer, customer_id)
    if customer is None or not customer_in_sight(customer.partner_id, partner_id=partner_id):
        raise Invalid.field("customer_id", "There is no such customer.", code="CUSTOMER_NOT_FOUND")
    return customer


@dataclass(frozen=True)
class CustomerView:
    """A customer account as it is shown, with its history (bans set and lifted: R13, D11)."""

    id: int
    email: str
    name: str
    created_at: datetime
    partner_id: int | None
    history: tuple[HistoryLine, ...]


def show_customer(customer_id: int, *, partner_id: int | None = None) -> CustomerView:
    """A customer and its history, within a partner's sight (D26)."""
    customer = get_customer(customer_id, partner_id=partner_id, with_history=True)
    return CustomerView(
        id=customer.id,
        email=customer.email,
        name=customer.name,
        created_at=customer.created_at,
        partner_id=customer.partner_id,
        history=history_lines(customer.history),
    )


def create_partner(
    *, name: str, support_email: str, support_url: str | None, now: datetime
) -> Partner:
    partner = Partner(
        name=name.strip(),
        support_email=support_email.strip().lower(),
        support_url=support_url,
        created_at=now,
    )
    db.session.add(partner)
    commit()
    return partner


def get_partner(partner_id: int) -> Partner:
    partner = db.session.get(Partner, partner_id)
    if partner is None:
        raise NotFound(f"There is no partner with the id {partner_id}.", code="PARTNER_NOT_FOUND")
    return partner
