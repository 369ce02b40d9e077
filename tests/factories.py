"""Building blocks for API tests: keys with scopes, and customers, partners and licenses made
through the public API (so every test exercises the same code paths as real callers)."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from licensing.clock import utcnow
from licensing.services.api_keys import create_api_key

_counter = itertools.count(1)


def make_key(app: Flask, *scopes: str) -> str:
    """A fresh API key with these scopes, as `flask api-keys create` would make."""
    with app.app_context():
        _, plain = create_api_key(
            name=f"test-{'-'.join(scopes)}", scopes=list(scopes), now=utcnow()
        )
    return plain


class Api:
    """A test client that speaks JSON with one API key."""

    def __init__(self, client: FlaskClient, key: str | None) -> None:
        self.client = client
        self.key = key

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        merged = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        merged.update(headers or {})
        return merged

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        headers = self._headers(kwargs.pop("headers", None))
        return self.client.get(path, headers=headers, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> TestResponse:
        headers = self._headers(kwargs.pop("headers", None))
        return self.client.post(path, json=json, headers=headers, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> TestResponse:
        headers = self._headers(kwargs.pop("headers", None))
        return self.client.put(path, json=json, headers=headers, **kwargs)


def created(response: TestResponse) -> dict[str, Any]:
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def ok(response: TestResponse) -> dict[str, Any]:
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def problem(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    """Assert an RFC 9457 answer with this status and stable code, and return it."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    return body


def new_customer(admin: Api, **fields: Any) -> dict[str, Any]:
    n = next(_counter)
    body = {"email": f"customer{n}@example.com", "name": f"Customer {n}", **fields}
    return created(admin.post("/v1/customers", json=body))


def new_partner(admin: Api, **fields: Any) -> dict[str, Any]:
    n = next(_counter)
    body = {"name": f"Partner {n}", "support_email": f"support{n}@partner.example", **fields}
    return created(admin.post("/v1/partners", json=body))


def import_license(
    admin: Api,
    *,
    customer_id: int,
    domain: str | None = None,
    edition: str = "pro",
    purchased_at: datetime | str = "2026-01-15T10:00:00Z",
    **fields: Any,
) -> dict[str, Any]:
    body = {
        "customer_id": customer_id,
        "edition": edition,
        "domain": domain or f"shop{next(_counter)}.example.com",
        "purchased_at": purchased_at if isinstance(purchased_at, str) else _instant(purchased_at),
        "channel": "direct",
        **fields,
    }
    return created(admin.post("/v1/licenses/import", json=body))


def _instant(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
