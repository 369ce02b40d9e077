"""Configuration: development works on defaults; production refuses to start without secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from licensing import create_app
from licensing.settings import ConfigurationError, Settings

SECRETS = {
    "DATABASE_URL": "sqlite:////tmp/licensing-prod-test.db",
    "STRIPE_SECRET_KEY": "sk_live_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_x",
    "SECRET_KEY": "s3cret",
}


def test_development_has_a_working_default_for_everything(tmp_path: Path) -> None:
    settings = Settings.from_env({}, instance_path=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'licensing.db'}"
    assert settings.validate_rate_limit == "120/minute"
    assert settings.stripe_api_base is None
    assert not settings.is_production


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_production_without_a_secret_is_a_startup_error(missing: str) -> None:
    environ = {"LICENSING_ENV": "production", **SECRETS}
    del environ[missing]
    with pytest.raises(ConfigurationError, match=missing):
        Settings.from_env(environ)


def test_production_with_every_secret_starts() -> None:
    settings = Settings.from_env({"LICENSING_ENV": "production", **SECRETS})
    assert settings.is_production
    app = create_app(settings)
    assert app.config["SECRET_KEY"] == "s3cret"


def test_create_app_reads_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LICENSING_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app()


def test_unknown_environment_name_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="LICENSING_ENV"):
        Settings.from_env({"LICENSING_ENV": "staging"})


def test_worker_intervals_default_to_the_contract_and_are_settings() -> None:
    settings = Settings.from_env({"WORKER_EVENTS_DELIVER_SECONDS": "2.5"})
    assert settings.worker_events_deliver_seconds == 2.5
    assert settings.worker_orders_expire_seconds == 60
    assert settings.worker_events_schedule_seconds == 60
    assert settings.worker_idempotency_purge_seconds == 3600


@pytest.mark.parametrize("value", ["0", "-5", "soon", "nan", "inf"])
def test_a_worker_interval_that_is_no_positive_number_is_a_startup_error(value: str) -> None:
    with pytest.raises(ConfigurationError, match="WORKER_ORDERS_EXPIRE_SECONDS"):
        Settings.from_env({"WORKER_ORDERS_EXPIRE_SECONDS": value})
