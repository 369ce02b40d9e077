"""One SELECT, compiled once, run straight on a pooled driver connection (issue 20).

The hot paths (validate, certificate, entitlements) each ask one or two fixed questions of
the database. Through the ORM session such a question costs about 250 us of Python around
a 40 us driver call: the session, its transaction, the ORM's execution and its rows. A
`PreparedRead` keeps what SQLAlchemy gives (the statement written once in Core, compiled
for the engine's dialect, its columns' types converting values both ways) and drops the
rest: it compiles the statement the first time an engine's dialect asks, then each call
takes a connection from the pool, runs the SQL and gives the row back with its values
converted. On PostgreSQL the pool is one of its own (`init_prepared_reads`): connections in
autocommit, so one statement is one round trip (no BEGIN, no ROLLBACK, nothing to reset when
a connection goes back), named `licensing-hot` in `pg_stat_activity`. On SQLite (one file,
tests and `make run`) the primary's pool serves, its SELECTs opening no transaction anyway.

A driver error reaches the app as SQLAlchemy's own (`DBAPIError.instance`), so the API's
problem handlers answer it as they answer any other (503 DATABASE_UNAVAILABLE for a lost
database). A connection the database dropped is discarded, and with it the pool's idle
ones (a restart dropped them all), as SQLAlchemy's own connections do: one request fails,
the next ones reconnect.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Engine, Select, create_engine, make_url
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from licensing.adapters.replica import engine_options
from licensing.extensions import db

EXTENSION = "prepared_reads"
HOT_APPLICATION = "licensing-hot"
# psycopg's client-side cursor holds its whole result in the client, so one cursor per
# connection serves every read (kept in the pool's record of the connection, which forgets it
# with the connection). sqlite3's keeps its statement open until closed: one per read there.
_CURSOR = "prepared_reads_cursor"


def init_prepared_reads(app: Flask, url: str) -> None:
    """On PostgreSQL, the autocommit pool the hot reads use; it opens connections when
    first used (a sync worker opens one)."""
    if make_url(url).get_backend_name() == "postgresql":
        options = engine_options(url, HOT_APPLICATION)
        app.extensions[EXTENSION] = create_engine(
            url, isolation_level="AUTOCOMMIT", pool_reset_on_return=None, **options
        )


def reads_engine() -> Engine:
    """The engine the hot reads run on: their own on PostgreSQL, the primary's on SQLite."""
    return current_app.extensions.get(EXTENSION) or db.engine


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: tuple[str, ...] | None  # the parameters' order, for a positional driver
    defaults: dict[str, Any]  # the values written into the statement (limits, constants)
    binds: tuple[tuple[str, Callable[[Any], Any]], ...]  # parameters whose type converts
    results: tuple[Callable[[Any], Any] | None, ...]
    row: type


class PreparedRead:
    """`read.first(key=...)`: the statement's first row, or None (`engine=` another engine)."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def first(self, engine: Engine | None = None, **params: Any) -> Any:
        engine = engine or reads_engine()
        compiled = self._by_dialect.get(engine.dialect.name) or self._compile(engine.dialect)
        values = {**compiled.defaults, **params}
        for name, convert in compiled.binds:
            values[name] = convert(values[name])
        arguments: Any = values
        if compiled.positional is not None:
            arguments = tuple(values[name] for name in compiled.positional)
        connection = _connect(engine)
        try:
            row = _fetch_one(engine.dialect, connection, compiled.sql, arguments)
        except DBAPIError as error:
            if error.connection_invalidated:  # the database went away: so did the idle ones
                engine.dispose()
            raise
        except Exception:  # the statement failed, the connection is as it was
            raise
        except BaseException:  # interrupted mid-statement (a worker's timeout): never reused
            connection.invalidate()
            raise
        finally:
            connection.close()
        if row is None:
            return None
        return compiled.row._make(
            value if convert is None else convert(value)
            for convert, value in zip(compiled.results, row, strict=True)
        )

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(
            dialect=dialect, compile_kwargs={"render_postcompile": True}
        )
        binds = []
        for name, bind in compiled.binds.items():
            convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if convert is not None:
                binds.append((name, convert))
        columns = list(self.statement.selected_columns)
        results = tuple(_result_processor(column, dialect) for column in columns)
        made = _Compiled(
            sql=compiled.string,
            positional=tuple(compiled.positiontup) if compiled.positional else None,
            defaults={
                name: bind.effective_value
                for name, bind in compiled.binds.items()
                if bind.value is not None or bind.callable is not None
            },
            binds=tuple(binds),
            results=results,
            row=namedtuple("Row", [column.key for column in columns]),  # type: ignore[misc]
        )
        self._by_dialect[dialect.name] = made
        return made


def _result_processor(column: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """The column type's conversion of a driver value. Without the driver's type code, which
    a type such as PostgreSQL's Numeric needs: such a column is refused here, at compile."""
    try:
        return column.type.dialect_impl(dialect).result_processor(dialect, None)
    except Exception as error:
        raise TypeError(f"PreparedRead cannot convert the column {column.key!r}") from error


def _connect(engine: Engine) -> Any:
    """A pooled connection; a database that cannot be reached as SQLAlchemy's error."""
    try:
        return engine.raw_connection()
    except engine.dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(
            None, None, error, engine.dialect.loaded_dbapi.Error, hide_parameters=True
        ) from error


def _fetch_one(dialect: Dialect, connection: Any, sql: str, arguments: Any) -> Any:
    """The first row; a driver error as SQLAlchemy's, the connection discarded when the
    database dropped it."""
    driver = connection.driver_connection
    kept = dialect.name == "postgresql"
    cursor = connection.info.get(_CURSOR) if kept else None
    try:
        if cursor is None:
            cursor = driver.cursor()
            if kept:
                connection.info[_CURSOR] = cursor
        cursor.execute(sql, arguments)
        return cursor.fetchone()
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, driver, cursor)
        if lost:
            connection.invalidate(error)
        raise DBAPIError.instance(
            sql,
            arguments,
            error,
            dialect.loaded_dbapi.Error,
            hide_parameters=True,
            connection_invalidated=lost,
        ) from error
    finally:
        if cursor is not None and not kept:
            cursor.close()
