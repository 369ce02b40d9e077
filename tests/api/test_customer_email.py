"""D24: a customer's email is unique, compared case-insensitively after trimming, by the API,
by the service the buy page uses, and by the database's own index."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from licensing.clock import utcnow
from licensing.extensions import db
from licensing.services import accounts
from tests.factories import Api, created, new_customer, problem

VARIANTS = ["ann@example.com", "ANN@EXAMPLE.COM", "  Ann@Example.com", "ann@example.COM \t"]


@pytest.mark.parametrize("again", VARIANTS)
def test_d24_a_taken_email_is_409_email_taken_naming_the_holder(admin: Api, again: str) -> None:
    holder = new_customer(admin, email="Ann@Example.com")
    assert holder["email"] == "ann@example.com"  # stored trimmed, in lower case
    refused = problem(
        admin.post("/v1/customers", json={"email": again, "name": "Other Ann"}),
        409,
        "EMAIL_TAKEN",
    )
    assert refused["customer_id"] == holder["id"]
    unchanged = admin.get(f"/v1/customers/{holder['id']}").get_json()
    assert (unchanged["email"], unchanged["name"]) == ("ann@example.com", holder["name"])


def test_d24_an_email_with_spaces_around_it_is_taken_trimmed(admin: Api) -> None:
    customer = created(
        admin.post("/v1/customers", json={"email": "  Bea@Example.com ", "name": "Bea"})
    )
    assert customer["email"] == "bea@example.com"


def test_d24_the_database_index_refuses_a_case_or_space_variant(app: Flask, admin: Api) -> None:
    """Not only the service's check: a row written by any other path is held to D24 too."""
    new_customer(admin, email="cy@example.com")
    with app.app_context():
        with pytest.raises(sa.exc.IntegrityError, match="uq_customers_email_normalized"):
            db.session.execute(
                sa.text(
                    "INSERT INTO customers (email, name, created_at) "
                    "VALUES (' CY@example.com', 'Cy', '2026-01-01 00:00:00')"
                )
            )
        db.session.rollback()


def test_d24_find_or_create_customer_finds_by_email_or_creates(app: Flask, admin: Api) -> None:
    existing = new_customer(admin, email="dee@example.com", name="Dee")
    with app.app_context():
        found = accounts.find_or_create_customer(
            email=" DEE@example.com", name="Someone else", now=utcnow()
        )
        assert (found.id, found.name) == (existing["id"], "Dee")
        made = accounts.find_or_create_customer(email="New@Example.com ", name="New", now=utcnow())
        assert made.email == "new@example.com"
        again = accounts.find_or_create_customer(email="new@example.com", name="X", now=utcnow())
        assert again.id == made.id


def test_d24_find_or_create_customer_loses_a_race_to_the_unique_index(
    app: Flask, admin: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another request commits the same email between our look and our insert: the index
    refuses our row, and we answer with theirs instead of failing."""
    winner = new_customer(admin, email="eve@example.com")
    real = accounts.customer_by_email
    looks: list[str] = []

    def first_look_misses(email: str) -> Any:
        looks.append(email)
        return None if len(looks) == 1 else real(email)

    monkeypatch.setattr(accounts, "customer_by_email", first_look_misses)
    with app.app_context():
        customer = accounts.find_or_create_customer(email="EVE@example.com", name="E", now=utcnow())
        assert customer.id == winner["id"]
        total = db.session.execute(sa.text("SELECT count(*) FROM customers")).scalar_one()
        assert total == 1
    assert len(looks) == 2
