"""Where the reports read: a streaming replica when `DATABASE_REPLICA_URL` names one, the
primary otherwise. Everything else (every write, every other read) uses the primary.

The replica is a second engine (`app.extensions["replica"]`, not a Flask-SQLAlchemy bind:
no model belongs to it) that the session uses for a report's statements alone, through
`bind_arguments`, so nothing else can reach it by accident. Connections say who they are
in `application_name` (`licensing` and `licensing-report`), so `pg_stat_activity` shows
which engine served what.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from sqlalchemy import Engine, Executable, Result, create_engine, make_url

from licensing.extensions import db

REPLICA = "replica"
PRIMARY_APPLICATION = "licensing"
REPORT_APPLICATION = "licensing-report"
# hide_parameters: an error message never carries a key or a secret from a query.
# No pre-ping (a round trip per request on the hot paths): a connection the database
# dropped fails one request with 503, is discarded, and the pool refills.
ENGINE_OPTIONS = {"hide_parameters": True, "pool_recycle": 1800}


def engine_options(url: str, application_name: str) -> dict[str, Any]:
    """The engine's options; on PostgreSQL its `application_name`, unless the URL sets one."""
    options: dict[str, Any] = dict(ENGINE_OPTIONS)
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and "application_name" not in parsed.query:
        options["connect_args"] = {"application_name": application_name}
    return options


def database_config(primary_url: str) -> dict[str, Any]:
    """Flask-SQLAlchemy's settings for the primary."""
    return {
        "SQLALCHEMY_DATABASE_URI": primary_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(primary_url, PRIMARY_APPLICATION),
    }


def init_replica(app: Flask, replica_url: str | None) -> None:
    """The replica's engine, when there is one; its pool opens connections when first used."""
    if replica_url:
        options = engine_options(replica_url, REPORT_APPLICATION)
        app.extensions[REPLICA] = create_engine(replica_url, **options)


def replica_engine(app: Flask) -> Engine | None:
    return app.extensions.get(REPLICA)


def report_read(statement: Executable) -> Result[Any]:
    """Run one of a report's queries, on the replica when there is one.

    A replica may be some seconds behind the primary: a report then misses the last
    seconds' payments, and the next request shows them. Nothing is written from what it
    reads, so the lag does no harm.
    """
    replica = replica_engine(current_app)
    if replica is None:
        return db.session.execute(statement)
    return db.session.execute(statement, bind_arguments={"bind": replica})
