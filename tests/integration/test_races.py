"""Races on PostgreSQL with real connections: the database, not Python, keeps D4."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from sqlalchemy import func, select

from licensing.adapters.models import License
from licensing.extensions import db
from licensing.services import licenses
from tests.factories import Api, import_license, make_key, new_customer

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

CONTENDERS = 20


@pytest.mark.parametrize("friendly_check", [True, False], ids=["with-check", "index-only"])
def test_d4_twenty_concurrent_binds_of_one_domain_exactly_one_wins(
    app: Flask, admin: Api, friendly_check: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the Python pre-check switched off, the partial unique index alone still holds."""
    if not friendly_check:
        monkeypatch.setattr(licenses, "_ensure_domain_free", lambda *a, **k: None)
    customer = new_customer(admin)
    keys = [import_license(admin, customer_id=customer["id"])["key"] for _ in range(CONTENDERS)]
    checkout_key = make_key(app, "checkout")
    start = threading.Barrier(CONTENDERS)

    def bind(key: str) -> tuple[int, str | None]:
        api = Api(app.test_client(), checkout_key)
        start.wait()
        response = api.put(f"/v1/licenses/{key}/domain", json={"domain": "contested.example.com"})
        return response.status_code, response.get_json().get("code")

    with ThreadPoolExecutor(max_workers=CONTENDERS) as pool:
        outcomes = list(pool.map(bind, keys))

    assert sorted(status for status, _ in outcomes) == [200] + [409] * (CONTENDERS - 1)
    assert {code for status, code in outcomes if status == 409} == {"DOMAIN_TAKEN"}
    with app.app_context():
        live = db.session.execute(
            select(func.count()).where(
                License.domain == "contested.example.com", License.status != "revoked"
            )
        ).scalar_one()
    assert live == 1
