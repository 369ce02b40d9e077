"""Bodies no field can take are refused before any other work: 4xx naming the field, never 500.

Each case here answered 500 before the strict decoder (`licensing/api/json_body.py`).
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from licensing import create_app
from licensing.adapters.models import Customer, Subscriber
from licensing.extensions import db
from tests.conftest import dispose, settings_for
from tests.factories import Api, problem

JSON = {"Content-Type": "application/json"}
LONG_NUMBER = "1" * 5000  # past Python's 4,300-digit limit on int()


def raw(client: FlaskClient, path: str, body: str, key: str | None = None):
    headers = {**JSON, **({"Authorization": f"Bearer {key}"} if key else {})}
    return client.post(path, data=body.encode(), headers=headers)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"key": "\\ud800", "domain": "shop.example.com"}', "key"),
        ('{"key": "AAAA", "domain": "shop.example.com", "version": "\\udfff"}', "version"),
        ('{"key": "A", "domain": "shop.example.com", "version": "5.\\ud83d"}', "version"),
        ('{"key": ' + LONG_NUMBER + ', "domain": "shop.example.com"}', "key"),
        ('{"key": "A", "domain": "shop.example.com", "extra": [1, 2, 1e99999]}', "extra.2"),
    ],
)
def test_validate_refuses_unreadable_values_naming_the_field(
    client: FlaskClient, body: str, field: str
) -> None:
    answer = problem(raw(client, "/v1/licenses/validate", body), 422, "VALIDATION_FAILED")
    assert list(answer["errors"]) == [field]


def test_a_lone_surrogate_in_a_field_name_or_not_json_constants(client: FlaskClient) -> None:
    body = problem(raw(client, "/v1/licenses/validate", '{"\\ud800": 1}'), 422, "VALIDATION_FAILED")
    assert list(body["errors"]) == ["_body"]
    for text in ('{"key": NaN, "domain": "a.com"}', '{"key": -Infinity, "domain": "a.com"}'):
        answer = problem(raw(client, "/v1/licenses/validate", text), 422, "VALIDATION_FAILED")
        assert list(answer["errors"]) == ["key"]
    problem(raw(client, "/v1/licenses/validate", '{"key": "A",'), 400, "MALFORMED_JSON")
    invalid_utf8 = client.post("/v1/licenses/validate", data=b'{"key": "\xff"}', headers=JSON)
    problem(invalid_utf8, 400, "MALFORMED_JSON")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/customers", '{"email": "a@example.com", "name": "\\ud800"}', "name"),
        (
            "/v1/subscribers",
            '{"url": "https://h.example.com/\\udc00", "secret": "s3cret-s3cret"}',
            "url",
        ),
        ("/v1/customers", '{"email": "a@example.com", "name": ' + LONG_NUMBER + "}", "name"),
        ("/v1/orders", '{"kind": "purchase", "customer_id": ' + LONG_NUMBER + "}", "customer_id"),
        (
            "/v1/quotes",
            '{"customer_id": 1, "lines": [{"hours": ' + LONG_NUMBER + "}]}",
            "lines.0.hours",
        ),
    ],
)
def test_stored_text_and_long_numbers_are_refused_and_nothing_is_written(
    app: Flask, client: FlaskClient, admin: Api, path: str, body: str, field: str
) -> None:
    answer = problem(raw(client, path, body, admin.key), 422, "VALIDATION_FAILED")
    assert list(answer["errors"]) == [field]
    with app.app_context():
        for model in (Customer, Subscriber):
            assert db.session.execute(select(func.count()).select_from(model)).scalar_one() == 0


def test_validate_allows_only_post(client: FlaskClient) -> None:
    """`/v1/licenses/validate` is not a license key: GET is 405 and `Allow` lists POST only."""
    for method in ("GET", "PUT"):
        response = client.open("/v1/licenses/validate", method=method)
        problem(response, 405, "METHOD_NOT_ALLOWED")
        assert set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}


def test_a_chunked_body_over_the_limit_is_413_not_malformed(client: FlaskClient) -> None:
    big = b'{"key": "' + b"A" * (10 * 1024 * 1024) + b'", "domain": "shop.example.com"}'
    response = client.post(
        "/v1/licenses/validate",
        input_stream=io.BytesIO(big),
        headers={**JSON, "Transfer-Encoding": "chunked"},
        environ_base={"wsgi.input_terminated": True},  # as gunicorn sets it
    )
    problem(response, 413, "PAYLOAD_TOO_LARGE")


@pytest.fixture
def limited_app(backend) -> Iterator[Flask]:
    app = create_app(
        settings_for(backend.app.config["SQLALCHEMY_DATABASE_URI"], validate_rate_limit="3/minute")
    )
    yield app
    dispose(app)


def test_the_rate_limit_counts_unreadable_bodies_too(limited_app: Flask) -> None:
    client = limited_app.test_client()
    for body in ('{"key": "\\ud800", "domain": "a.com"}', "{not json", '{"key": ' + LONG_NUMBER):
        response = client.post(
            "/v1/licenses/validate",
            data=body,
            headers=JSON,
            environ_base={"REMOTE_ADDR": "10.7.0.1"},
        )
        assert response.status_code in (400, 422)
    fourth = client.post(
        "/v1/licenses/validate",
        json={"key": "K", "domain": "shop.example.com"},
        environ_base={"REMOTE_ADDR": "10.7.0.1"},
    )
    problem(fourth, 429, "RATE_LIMITED")
