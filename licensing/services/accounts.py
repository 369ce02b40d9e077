"""Customer accounts (R2) and partners, the resellers who support what they sell (R3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from licensing.adapters.models import Customer, Partner
from licensing.domain.errors import Conflict, NotFound
from licensing.extensions import db
from licensing.services.transactions import commit


def create_customer(*, email: str, name: str, now: datetime) -> Customer:
    """One account per email address, compared case-insensitively."""
    email = email.strip().lower()
    taken = Conflict(f"a customer with email {email} exists", code="EMAIL_TAKEN")
    if db.session.execute(select(Customer.id).where(Customer.email == email)).first():
        raise taken
    customer = Customer(email=email, name=name.strip(), created_at=now)
    db.session.add(customer)
    commit(on_conflict={("uq_customers_email", "customers.email"): taken})
    return customer


def get_customer(customer_id: int, *, with_history: bool = False) -> Customer:
    options = [selectinload(Customer.history)] if with_history else []
    customer = db.session.get(Customer, customer_id, options=options, populate_existing=True)
    if customer is None:
        raise NotFound(f"no customer {customer_id}", code="CUSTOMER_NOT_FOUND")
    return customer


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
        raise NotFound(f"no partner {partner_id}", code="PARTNER_NOT_FOUND")
    return partner
