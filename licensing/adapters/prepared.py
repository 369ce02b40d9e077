"""One SELECT, compiled once, run straight on a pooled driver connection (issue 20).

The hot paths (validate, certificate, entitlements) each ask one or two fixed questions of
the database. Through the ORM session such a question costs about 250 us of Python around
a 40 us driver call: the session, its transaction, the ORM's execution and its rows. A
`PreparedRead` keeps what SQLAlchemy gives (the statement written once in Core, compiled
for the engine's dialect, its columns' types converting values both ways) and drops the
rest: it compiles the statement the first time an engine's dialect asks, then each call
takes a connection from the engine's pool, runs the SQL in autocommit (one statement, one
round trip, no BEGIN or ROLLBACK) and gives the row back with its values converted.

A driver error reaches the app as SQLAlchemy's own (`DBAPIError.instance`), so the API's
problem handlers answer it as they answer any other (503 DATABASE_UNAVAILABLE for a lost
database), and a connection the database dropped is discarded from the pool.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: tuple[str, ...] | None  # the parameters' order, for a positional driver
    defaults: dict[str, Any]  # the values written into the statement (limits, constants)
    binds: tuple[tuple[str, Callable[[Any], Any]], ...]  # parameters whose type converts
    results: tuple[Callable[[Any], Any] | None, ...]
    row: type


class PreparedRead:
    """`read.first(engine, key=...)`: the statement's first row, or None."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def first(self, engine: Engine, **params: Any) -> Any:
        compiled = self._by_dialect.get(engine.dialect.name) or self._compile(engine.dialect)
        values = {**compiled.defaults, **params}
        for name, convert in compiled.binds:
            values[name] = convert(values[name])
        arguments: Any = values
        if compiled.positional is not None:
            arguments = tuple(values[name] for name in compiled.positional)
        connection = engine.raw_connection()
        try:
            row = _fetch_one(engine.dialect, connection, compiled.sql, arguments)
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
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )
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


def _fetch_one(dialect: Dialect, connection: Any, sql: str, arguments: Any) -> Any:
    """The first row, read in autocommit; a driver error as SQLAlchemy's, the connection
    discarded when the database dropped it."""
    driver = connection.driver_connection
    autocommit = dialect.name == "postgresql"
    cursor = None
    try:
        if autocommit:
            driver.autocommit = True  # the pool's other users find it as they left it
        cursor = driver.cursor()
        cursor.execute(sql, arguments)
        return cursor.fetchone()
    except dialect.loaded_dbapi.Error as error:
        if dialect.is_disconnect(error, driver, cursor):
            connection.invalidate(error)
        raise DBAPIError.instance(
            sql, arguments, error, dialect.loaded_dbapi.Error, hide_parameters=True
        ) from error
    finally:
        if cursor is not None:
            cursor.close()
        if autocommit and connection.is_valid:
            driver.autocommit = False
