"""Licensing: sells Shop licenses, binds them to domains, renews updates, answers the helpdesk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from licensing.adapters.payments import PaymentGateway, StripeGateway
from licensing.adapters.replica import database_config, init_replica
from licensing.adapters.types import enforce_sqlite_foreign_keys
from licensing.settings import Settings

API_TITLE = "Licensing"
API_VERSION = "1.0.0"


class NoSessions(SecureCookieSessionInterface):
    """Flask's cookie session is never used here; skip opening and saving it."""

    def open_session(self, app: Flask, request: Any) -> None:  # type: ignore[override]
        return None

    def save_session(self, *args: Any) -> None:
        return None


def create_app(config: Settings | None = None, *, payments: PaymentGateway | None = None) -> Flask:
    """The only place that wires the service; `config` defaults to the environment.

    `payments` replaces the Stripe gateway (unit tests of the fulfilment rules use a fake).
    """
    app = Flask(__name__, static_folder=None)
    instance = Path(app.root_path).parent / "instance"
    settings = config or Settings.from_env(instance_path=instance)
    if settings.database_url.startswith("sqlite:///"):
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        **database_config(settings.database_url),
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        API_TITLE=API_TITLE,
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/v1",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
    )
    from licensing import cli
    from licensing.adapters import models  # noqa: F401  (tables for migrations)
    from licensing.api import init_api
    from licensing.extensions import db, migrate
    from licensing.logs import configure_logging

    configure_logging()
    db.init_app(app)
    init_replica(app, settings.database_replica_url)
    with app.app_context():
        enforce_sqlite_foreign_keys(db.engine)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    app.session_interface = NoSessions()  # an API: no cookie session to open per request
    app.extensions["payments"] = payments or StripeGateway(
        secret_key=settings.stripe_secret_key,
        webhook_secret=settings.stripe_webhook_secret,
        api_base=settings.stripe_api_base,
    )
    init_api(app, settings)
    if settings.forwarded_allow_ips:  # the client's address, from trusted proxies only
        from licensing.api.client_address import TrustedProxies

        app.wsgi_app = TrustedProxies(app.wsgi_app, settings.forwarded_allow_ips)  # type: ignore[method-assign]
    cli.register(app)
    return app
