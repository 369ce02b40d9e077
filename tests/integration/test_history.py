"""The audit history is append-only through the ORM too (the database triggers are tested
with the migrations)."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from licensing.adapters.models import LicenseEvent
from licensing.extensions import db
from tests.factories import Api, import_license, new_customer


@pytest.mark.parametrize("change", ["update", "delete"])
def test_history_rows_cannot_be_changed_through_the_orm(
    app: Flask, admin: Api, change: str
) -> None:
    customer = new_customer(admin)
    import_license(admin, customer_id=customer["id"])
    with app.app_context():
        event = db.session.execute(select(LicenseEvent).limit(1)).scalar_one()
        if change == "update":
            event.actor = "forger"
        else:
            db.session.delete(event)
        with pytest.raises(PermissionError, match="append-only"):
            db.session.flush()
        db.session.rollback()
        assert db.session.execute(select(LicenseEvent.actor).limit(1)).scalar_one() != "forger"
