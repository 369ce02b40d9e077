"""Licensing: sells Shop licenses, binds them to domains, renews updates, answers the helpdesk."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from licensing.adapters import signing
from licensing.adapters.mail import SmtpMailer
from licensing.adapters.payments import PaymentGateway, StripeGateway
from licensing.adapters.prepared import init_prepared_reads
from licensing.adapters.replica import database_config, init_replica
from licensing.adapters.types import enforce_sqlite_foreign_keys
from licensing.api.json_answers import OrjsonProvider
from licensing.settings import Settings

API_TITLE = "Licensing"
API_VERSION = "1.0.0"


def create_app(config: Settings | None = None, *, payments: PaymentGateway | None = None) -> Flask:
    """The only place that wires the service; `config` defaults to the environment.

    `payments` replaces the Stripe gateway (unit tests of the fulfilment rules use a fake).
    """
    app = Flask(__name__, static_folder=None)
    app.json = OrjsonProvider(app)
    instance = Path(app.root_path).parent / "instance"
    settings = config or Settings.from_env(instance_path=instance)
    _configure(app, settings)
    from licensing import cli
    from licensing.api import init_api
    from licensing.logs import configure_logging

    configure_logging()
    _init_database(app, settings)
    _init_adapters(app, settings, payments)
    init_api(app, settings)
    if settings.forwarded_allow_ips:  # the client's address, from trusted proxies only
        from licensing.api.client_address import TrustedProxies

        app.wsgi_app = TrustedProxies(app.wsgi_app, settings.forwarded_allow_ips)  # type: ignore[method-assign]
    cli.register(app)
    return app


def _configure(app: Flask, settings: Settings) -> None:
    """Flask's and flask-smorest's configuration from the settings, read once here; a SQLite
    database's folder is made if missing."""
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
    )


def _init_database(app: Flask, settings: Settings) -> None:
    """The primary database, its read replica and prepared reads, and the migrations."""
    from licensing.adapters import models  # noqa: F401  (tables for migrations)
    from licensing.extensions import db, migrate

    db.init_app(app)
    init_replica(app, settings.database_replica_url)
    init_prepared_reads(app, settings.database_url)
    with app.app_context():
        enforce_sqlite_foreign_keys(db.engine)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))


def _init_adapters(app: Flask, settings: Settings, payments: PaymentGateway | None) -> None:
    """The outside world's adapters: payments (Stripe unless replaced), mail and signing."""
    app.extensions["payments"] = payments or StripeGateway(
        secret_key=settings.stripe_secret_key,
        webhook_secret=settings.stripe_webhook_secret,
        api_base=settings.stripe_api_base,
    )
    # Email (D25): the sign-in page sends through it at once, the outbox from the worker.
    app.extensions["mailer"] = SmtpMailer.from_settings(settings.smtp_url, settings.mail_from)
    # D23: the private key stays in this object; only its public half is ever published.
    app.extensions[signing.EXTENSION] = signing.Ed25519Signer.from_pem(
        settings.license_signing_key,
        settings.license_retired_keys,
        issuer=settings.license_issuer,
    )
