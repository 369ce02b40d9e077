"""Settings read once from the environment; production refuses to start without its secrets."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from limits import parse

DEVELOPMENT = "development"
PRODUCTION = "production"

# Secrets that have a throw-away default in development and none in production.
_SECRETS = ("DATABASE_URL", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "SECRET_KEY")


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


def _worker_intervals(environ: Mapping[str, str]) -> dict[str, float]:
    """`WORKER_<JOB>_SECONDS` for each `worker_<job>_seconds` field: a positive number."""
    intervals = {}
    for field in dataclasses.fields(Settings):
        if not (field.name.startswith("worker_") and field.name.endswith("_seconds")):
            continue
        name = field.name.upper()
        value = (environ.get(name) or "").strip() or str(field.default)
        try:
            seconds = float(value)
        except ValueError:
            seconds = 0.0
        if not 0 < seconds < 7 * 24 * 3600:
            raise ConfigurationError(f"{name} must be a number of seconds above 0, not {value!r}")
        intervals[field.name] = seconds
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
