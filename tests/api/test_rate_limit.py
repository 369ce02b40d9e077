"""`validate` is rate-limited per client IP and per key: 429 problem with Retry-After."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from licensing import create_app
from licensing.domain.license_keys import generate_license_key
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


def test_d6_every_spelling_of_one_key_shares_its_count(limited_app: Flask) -> None:
    """The lookup ignores case, spaces and hyphens and reads I/L/O as 1/1/0 (D6): so does
    the count, or each spelling would be a fresh three tries at the same license."""
    key = generate_license_key(lambda n: 1)  # every payload symbol "1"
    spellings = [key, key.replace("-", ""), " ".join(key.replace("-", "")).lower()]
    for n, spelling in enumerate(spellings):
        assert validate(limited_app, spelling, f"10.2.0.{n}").status_code == 200
    problem(validate(limited_app, key.replace("1", "I"), "10.2.0.9"), 429, "RATE_LIMITED")
    assert validate(limited_app, generate_license_key(), "10.2.0.8").status_code == 200


def test_off_disables_and_a_bad_rate_is_a_startup_error(tmp_path: Path) -> None:
    assert (
        Settings.from_env(
            {"VALIDATE_RATE_LIMIT": "off"}, instance_path=tmp_path
        ).validate_rate_limit
        == "off"
    )
    with pytest.raises(ConfigurationError, match="VALIDATE_RATE_LIMIT"):
        Settings.from_env({"VALIDATE_RATE_LIMIT": "lots"})


def _redis_up() -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", 6379)) == 0


@pytest.mark.skipif(
    not _redis_up(), reason="no Redis on 127.0.0.1:6379 (this machine kind starts one)"
)
def test_the_count_can_live_in_redis_so_every_worker_shares_it(backend, tmp_path: Path) -> None:
    import uuid

    from limits.storage import storage_from_string

    url = "redis://127.0.0.1:6379/15"
    storage_from_string(url).reset()
    uri = backend.app.config["SQLALCHEMY_DATABASE_URI"]
    workers = [
        create_app(settings_for(uri, validate_rate_limit="2/minute", rate_limit_storage_url=url))
        for _ in range(2)
    ]
    try:
        ip = f"10.9.{uuid.uuid4().int % 250}.1"
        answers = [validate(workers[n % 2], f"K{n}", ip).status_code for n in range(3)]
        assert answers == [200, 200, 429]  # the third call, on the other worker, is counted too
    finally:
        for app in workers:
            dispose(app)


def test_a_rate_limit_store_that_is_down_fails_open_and_readyz_names_it(
    backend, caplog: pytest.LogCaptureFixture
) -> None:
    """Validation goes on (unlimited) with a warning and a metric; /readyz stays 200."""
    from prometheus_client import REGISTRY

    def failures() -> float:
        return REGISTRY.get_sample_value("licensing_rate_limit_store_failures_total") or 0.0

    dead = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    uri = backend.app.config["SQLALCHEMY_DATABASE_URI"]
    app = create_app(settings_for(uri, validate_rate_limit="2/minute", rate_limit_storage_url=dead))
    try:
        before = failures()
        answers = [validate(app, f"K{n}", "10.8.0.1").status_code for n in range(4)]
        assert answers == [200, 200, 200, 200]
        assert failures() > before
        assert "rate-limit store unreachable (ConnectionError)" in caplog.text
        ready = app.test_client().get("/readyz")
        assert ready.status_code == 200
        assert ready.get_json() == {"status": "degraded", "degraded": ["rate_limit_store"]}
    finally:
        dispose(app)


def test_readyz_is_ready_with_nothing_degraded(client) -> None:
    assert client.get("/readyz").get_json() == {"status": "ready", "degraded": []}
