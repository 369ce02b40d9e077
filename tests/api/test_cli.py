"""`flask --app wsgi api-keys ...`: the key is printed once, alone on the last line."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from licensing.adapters.models import ApiKey
from licensing.extensions import db
from tests.factories import Api, ok, problem


def test_create_prints_key_alone_on_last_line_and_stores_only_a_hash(
    app: Flask, client: FlaskClient
) -> None:
    result = app.test_cli_runner().invoke(
        args=["api-keys", "create", "--name", "helpdesk-prod", "--scopes", "helpdesk, finance"]
    )
    assert result.exit_code == 0, result.output
    key = result.output.splitlines()[-1]
    assert key.startswith("lk_") and " " not in key and len(key) > 50
    assert ok(Api(client, key).get("/v1/editions"))["items"]
    with app.app_context():
        stored = db.session.execute(
            select(ApiKey).where(ApiKey.name == "helpdesk-prod")
        ).scalar_one()
        assert stored.scopes == ["finance", "helpdesk"]
        assert key.split("_", 2)[2] not in stored.secret_hash
        assert len(stored.secret_hash) == 64


def test_create_refuses_unknown_scopes(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["api-keys", "create", "--name", "x", "--scopes", "root,partner:abc"]
    )
    assert result.exit_code != 0
    assert "root" in result.output and "partner:abc" in result.output


def test_list_never_shows_secrets_and_revoke_stops_the_key(app: Flask, client: FlaskClient) -> None:
    runner = app.test_cli_runner()
    key = runner.invoke(
        args=["api-keys", "create", "--name", "temp", "--scopes", "checkout"]
    ).output.splitlines()[-1]
    public_id, secret = key.split("_", 2)[1:]
    listing = runner.invoke(args=["api-keys", "list"]).output
    assert public_id in listing and secret not in listing
    assert runner.invoke(args=["api-keys", "revoke", public_id]).exit_code == 0
    problem(Api(client, key).get("/v1/editions"), 401, "UNAUTHENTICATED")
    assert "revoked" in runner.invoke(args=["api-keys", "list"]).output
