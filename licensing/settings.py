"""Settings read once from the environment; production refuses to start without its secrets."""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from limits import parse

from licensing.adapters import signing
from licensing.adapters.mail import SmtpServer

DEVELOPMENT = "development"
PRODUCTION = "production"
STRIPE_JS = "https://js.stripe.com/v3/"

# Secrets that have a throw-away default in development and none in production.
_SECRETS = (
    "DATABASE_URL",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "SECRET_KEY",
    "LICENSE_SIGNING_KEY",
)
DEVELOPMENT_SIGNING_KEY = "license-signing-key.pem"  # under instance/, made once (D23)


class ConfigurationError(RuntimeError):
    """The environment cannot run the service; raised by create_app, before serving."""


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment (the contract's Conventions)."""

    database_url: str
    stripe_secret_key: str
    stripe_webhook_secret: str
    stripe_api_base: str | None
    secret_key: str
    validate_rate_limit: str
    env: str = DEVELOPMENT
    max_body_bytes: int = 64 * 1024
    rate_limit_storage_url: str = "memory://"
    paid_work_rate_cents: int = 3000  # R14: $30.00 per hour
    # Email (D25): where mail goes out, who it is from, and the base of links in it.
    smtp_url: str = "smtp://127.0.0.1:8025"
    mail_from: str = "Licensing <licensing@localhost>"
    public_url: str = "http://127.0.0.1:8000"
    # Pages (D24): Stripe.js for the card, and the publishable key it is opened with.
    stripe_js_url: str = STRIPE_JS
    stripe_publishable_key: str = "pk_test_local"
    # D22/D23: the PEM private key certificates are signed with (never shown by repr), the
    # PEM public keys of retired keys still published, and the certificates' `iss`.
    license_signing_key: str = field(default="", repr=False)
    license_retired_keys: tuple[str, ...] = ()
    license_issuer: str = "licensing"
    # Where gunicorn's workers keep their metrics so that /metrics sums them (multiprocess).
    prometheus_multiproc_dir: str | None = None
    # The reports read here (a streaming replica); None: from database_url like the rest.
    database_replica_url: str | None = None
    # The proxies whose X-Forwarded-For names the client (IPs and CIDRs); empty: none.
    forwarded_allow_ips: tuple[str, ...] = ()
    # The worker's intervals, in seconds, one per periodic job (contract: Operations).
    worker_orders_expire_seconds: float = 60.0
    worker_events_schedule_seconds: float = 60.0
    worker_events_deliver_seconds: float = 5.0
    worker_emails_deliver_seconds: float = 5.0
    worker_idempotency_purge_seconds: float = 3600.0

    @property
    def is_production(self) -> bool:
        return self.env == PRODUCTION

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, instance_path: Path | None = None
    ) -> Settings:
        """Read the environment; in production every secret must be set explicitly."""
        environ = os.environ if environ is None else environ
        env = environ.get("LICENSING_ENV", DEVELOPMENT).strip() or DEVELOPMENT
        if env not in (DEVELOPMENT, PRODUCTION):
            raise ConfigurationError(
                f"LICENSING_ENV must be {DEVELOPMENT!r} or {PRODUCTION!r}, not {env!r}"
            )
        if env == PRODUCTION:
            missing = [name for name in _SECRETS if not environ.get(name, "").strip()]
            if missing:
                raise ConfigurationError(
                    "production needs these environment variables set: " + ", ".join(missing)
                )
        instance = instance_path or Path.cwd() / "instance"
        return cls(
            database_url=environ.get("DATABASE_URL") or f"sqlite:///{instance / 'licensing.db'}",
            stripe_secret_key=environ.get("STRIPE_SECRET_KEY") or "sk_test_local",
            stripe_webhook_secret=environ.get("STRIPE_WEBHOOK_SECRET") or "whsec_local",
            stripe_api_base=environ.get("STRIPE_API_BASE") or None,
            secret_key=environ.get("SECRET_KEY") or "development-only-secret-key",
            validate_rate_limit=_rate(environ.get("VALIDATE_RATE_LIMIT") or "120/minute"),
            env=env,
            rate_limit_storage_url=environ.get("RATE_LIMIT_STORAGE_URL") or "memory://",
            paid_work_rate_cents=_cents(environ.get("PAID_WORK_RATE_CENTS") or "3000"),
            smtp_url=_smtp_url(environ.get("SMTP_URL") or "smtp://127.0.0.1:8025"),
            mail_from=environ.get("MAIL_FROM") or "Licensing <licensing@localhost>",
            public_url=_public_url(environ.get("PUBLIC_URL") or "http://127.0.0.1:8000"),
            stripe_js_url=_stripe_js_url(environ.get("STRIPE_JS_URL") or STRIPE_JS),
            stripe_publishable_key=environ.get("STRIPE_PUBLISHABLE_KEY") or "pk_test_local",
            license_signing_key=_signing_key(environ.get("LICENSE_SIGNING_KEY", ""), instance),
            license_retired_keys=_retired_keys(environ.get("LICENSE_RETIRED_KEYS", "")),
            license_issuer=environ.get("LICENSE_ISSUER", "").strip() or "licensing",
            prometheus_multiproc_dir=environ.get("PROMETHEUS_MULTIPROC_DIR") or None,
            database_replica_url=environ.get("DATABASE_REPLICA_URL") or None,
            forwarded_allow_ips=_networks(environ.get("FORWARDED_ALLOW_IPS") or ""),
            **_worker_intervals(environ),
        )

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def _rate(value: str) -> str:
    """`off`, or a rate `limits` understands (`120/minute`, `10 per second`)."""
    value = value.strip()
    if value.lower() == "off":
        return "off"
    try:
        parse(value)
    except ValueError:
        raise ConfigurationError(
            f"VALIDATE_RATE_LIMIT must be like 120/minute or off, not {value!r}"
        ) from None
    return value


def _cents(value: str) -> int:
    """A positive whole number of cents (`3000` is $30.00)."""
    if not value.strip().isdigit() or int(value) <= 0:
        raise ConfigurationError(f"PAID_WORK_RATE_CENTS must be a positive integer, not {value!r}")
    return int(value)


def _smtp_url(value: str) -> str:
    """`smtp://[user:pass@]host:port` or `smtps://...`; the error never repeats the value (it
    may hold a password)."""
    try:
        SmtpServer.from_url(value)
    except ValueError as error:
        raise ConfigurationError(str(error)) from None
    return value.strip()


def _public_url(value: str) -> str:
    """The base of links in emails: an absolute http(s) URL, kept without a trailing slash."""
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ConfigurationError(f"PUBLIC_URL must be an absolute http(s) URL, not {value!r}")
    return value


def _stripe_js_url(value: str) -> str:
    """Where the pages load Stripe.js from (the Content-Security-Policy allows its origin)."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"STRIPE_JS_URL must be an absolute http(s) URL, not {value!r}")
    return value


def _read_setting_file(name: str, value: str) -> str:
    """The text of the file `@path` names; the error names the setting and the path only."""
    path = Path(value[1:]).expanduser()
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not ASCII text"
        raise ConfigurationError(f"{name}: cannot read the file {str(path)!r} ({reason})") from None


def _signing_key(value: str, instance: Path) -> str:
    """D23: the PEM private key, given or `@path`; in development, instance/'s own key,
    made once (0600) and reused. Production has already refused an empty value."""
    value = value.strip()
    if not value:
        path = instance / DEVELOPMENT_SIGNING_KEY
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Another process may make it first: then that one is used.
            with contextlib.suppress(FileExistsError):
                signing.write_new_private_key(path)
        value = f"@{path}"
    pem = _read_setting_file("LICENSE_SIGNING_KEY", value) if value.startswith("@") else value
    try:
        signing.load_private_key(pem)
    except signing.BadKeyMaterial as error:
        raise ConfigurationError(f"LICENSE_SIGNING_KEY {error}") from None
    return pem.strip() + "\n"


def _retired_keys(value: str) -> tuple[str, ...]:
    """D23: `@path` to a file of PEM public keys still published, or nothing."""
    value = value.strip()
    if not value:
        return ()
    if not value.startswith("@"):
        raise ConfigurationError("LICENSE_RETIRED_KEYS must be @path to a file of PEM public keys")
    text = _read_setting_file("LICENSE_RETIRED_KEYS", value)
    try:
        pems = signing.split_public_pems(text)
        for pem in pems:
            signing.load_public_key(pem)
    except signing.BadKeyMaterial as error:
        raise ConfigurationError(f"LICENSE_RETIRED_KEYS {error}") from None
    return tuple(pems)


def _worker_intervals(environ: Mapping[str, str]) -> dict[str, float]:
    """`WORKER_<JOB>_SECONDS` for each `worker_<job>_seconds` field: a positive number."""
    intervals = {}
    for setting in dataclasses.fields(Settings):
        if not (setting.name.startswith("worker_") and setting.name.endswith("_seconds")):
            continue
        name = setting.name.upper()
        value = (environ.get(name) or "").strip() or str(setting.default)
        try:
            seconds = float(value)
        except ValueError:
            seconds = 0.0
        if not 0 < seconds < 7 * 24 * 3600:
            raise ConfigurationError(f"{name} must be a number of seconds above 0, not {value!r}")
        intervals[setting.name] = seconds
    return intervals


def _networks(value: str) -> tuple[str, ...]:
    """Comma-separated IP addresses or CIDR networks (`127.0.0.1,10.0.0.0/8`), checked now."""
    networks = tuple(part.strip() for part in value.split(",") if part.strip())
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigurationError(
                f"FORWARDED_ALLOW_IPS must list IP addresses or networks, not {network!r}"
            ) from None
    return networks
