"""Service tests: the use cases called directly, with the fake gateway and typed events.

The services use the ORM session, so each test gets a fresh in-memory SQLite database
(tables made from the models, not the migrations; the two editions of the data migration
added by hand): no HTTP, no files, no server, a few milliseconds a test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask

from licensing import create_app
from licensing.adapters.models import Edition
from licensing.extensions import db
from tests.conftest import settings_for
from tests.fakes import FakeGateway

EDITIONS = {"pro": ("Pro", 30000, 1), "premium": ("Premium", 50000, 2)}  # migration 0002


@pytest.fixture(scope="session")
def memory_app() -> Iterator[Flask]:
    """The app on one in-memory SQLite database, its tables made once from the models."""
    app = create_app(settings_for("sqlite://"))
    with app.app_context():
        db.create_all()
    yield app


@pytest.fixture
def database(memory_app: Flask) -> Iterator[None]:
    """The database as migrated (the two editions of migration 0002, nothing else), in an
    app context; emptied again after the test."""
    with memory_app.app_context():
        at = datetime(2026, 11, 26, tzinfo=UTC)
        db.session.add_all(
            Edition(
                code=code,
                name=name,
                price_amount=price,
                currency="USD",
                priority=priority,
                updated_at=at,
            )
            for code, (name, price, priority) in EDITIONS.items()
        )
        db.session.commit()
        yield
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()
