"""`validate` is rate-limited per client IP and per key: 429 problem with Retry-After."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from licensing import create_app
from licensing.settings import ConfigurationError, Settings
from tests.conftest import dispose, settings_for
from tests.factories import problem


@pytest.fixture
def limited_app(backend, tmp_path: Path) -> Iterator[Flask]:
    """The same migrated database, served by an app with a limit of 3 per minute."""
    app = create_app(
        settings_for(backend.app.config["SQLALCHEMY_DATABASE_URI"], validate_rate_limit="3/minute")
    )
    yield app
    dispose(app)


def validate(app: Flask, key: str, ip: str):
    return app.test_client().post(
        "/v1/licenses/validate",
        json={"key": key, "domain": "shop.example.com"},
        environ_base={"REMOTE_ADDR": ip},
    )


def test_the_fourth_call_from_one_address_is_429_with_retry_after(limited_app: Flask) -> None:
    for n in range(3):
        assert validate(limited_app, f"KEY-{n}", "10.0.0.1").status_code == 200
    response = validate(limited_app, "KEY-9", "10.0.0.1")
    problem(response, 429, "RATE_LIMITED")
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert validate(limited_app, "KEY-10", "10.0.0.2").status_code == 200  # another client


def test_one_key_tried_from_many_addresses_is_limited_too(limited_app: Flask) -> None:
    for n in range(3):
        assert validate(limited_app, "SAME-KEY", f"10.1.0.{n}").status_code == 200
    problem(validate(limited_app, "same-key", "10.1.0.9"), 429, "RATE_LIMITED")


def test_off_disables_and_a_bad_rate_is_a_startup_error() -> None:
    assert Settings.from_env({"VALIDATE_RATE_LIMIT": "off"}).validate_rate_limit == "off"
    with pytest.raises(ConfigurationError, match="VALIDATE_RATE_LIMIT"):
        Settings.from_env({"VALIDATE_RATE_LIMIT": "lots"})
