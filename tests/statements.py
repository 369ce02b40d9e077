"""Every SQL statement the app sends, whichever way: the session and the engine (their
`before_cursor_execute` event) and the hot paths' `PreparedRead`s (straight to the driver)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event

from licensing.adapters import prepared
from licensing.extensions import db


@contextmanager
def statements_sent(app: Flask) -> Iterator[list[tuple[str, Any]]]:
    """Each statement sent inside the block, with its parameters, in order."""
    seen: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        seen.append((statement, parameters))

    def fetch_one(dialect, connection, sql, arguments):  # type: ignore[no-untyped-def]
        seen.append((sql, arguments))
        return sent(dialect, connection, sql, arguments)

    with app.app_context():
        engine = db.engine
    sent = prepared._fetch_one
    event.listen(engine, "before_cursor_execute", record)
    prepared._fetch_one = fetch_one
    try:
        yield seen
    finally:
        prepared._fetch_one = sent
        event.remove(engine, "before_cursor_execute", record)
