"""Committing a use case, turning the database's unique violations into conflicts, and the
workers' turns on SQLite (`take_turns_on_sqlite`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licensing.domain.errors import DomainError
from licensing.extensions import db

_IN_UNIT = "licensing.unit_of_work"  # a key of Session.info


def violated(error: IntegrityError, markers: Iterable[str]) -> bool:
    """Whether the violation names one of the markers.

    PostgreSQL names the constraint (`uq_licenses_live_domain`); SQLite names the columns
    (`UNIQUE constraint failed: licenses.domain`), so callers pass both forms.
    """
    message = str(error.orig)
    return any(marker in message for marker in markers)


Conflicts = dict[tuple[str, ...], DomainError]


def commit(*, on_conflict: Conflicts | None = None) -> None:
    """Commit the use case; a unique violation the caller expects becomes its error.

    The database, not a Python check, is what makes a conflict impossible under races; the
    check before it only gives the common case a friendly answer. Inside `unit_of_work()`
    this only flushes (conflicts show then): the unit commits, once, at its end.
    """
    deferred = db.session().info.get(_IN_UNIT, False)
    _guarded(db.session.flush if deferred else db.session.commit, on_conflict)


@contextmanager
def unit_of_work() -> Iterator[None]:
    """One transaction for a use case and what its caller writes around it (an idempotent
    request's claim and stored answer): all of it commits at the end, or none of it."""
    session = db.session()
    session.info[_IN_UNIT] = True
    try:
        yield
        del session.info[_IN_UNIT]
        session.commit()
    except BaseException:
        session.info.pop(_IN_UNIT, None)
        session.rollback()
        raise


@event.listens_for(Session, "before_commit")
def _only_the_unit_commits(session: Session) -> None:
    """A use case that commits by itself would split the unit: refuse, loudly."""
    if session.info.get(_IN_UNIT) and not session.in_nested_transaction():
        raise RuntimeError("a use case committed inside a unit of work; use commit()")


def holds_transaction() -> bool:
    """Whether the caller's session has a transaction open, or a unit of work begun (whose
    transaction starts with its first statement)."""
    session = db.session()
    return session.in_transaction() or bool(session.info.get(_IN_UNIT, False))


def rollback() -> None:
    """Drop what the transaction did so far and read a fresh snapshot next (a lost race for
    a unique row, a retry's next look); inside `unit_of_work()` the unit starts over."""
    db.session.rollback()


def flush(*, on_conflict: Conflicts | None = None) -> None:
    """Flush pending rows (to learn their ids) with the same conflict translation."""
    _guarded(db.session.flush, on_conflict)


def _guarded(action: Callable[[], None], on_conflict: Conflicts | None) -> None:
    try:
        action()
    except IntegrityError as error:
        if not db.session().in_nested_transaction():
            db.session.rollback()  # (in a savepoint, its context manager rolls back to it)
        for markers, conflict in (on_conflict or {}).items():
            if violated(error, markers):
                raise conflict from None
        raise


def take_turns_on_sqlite(table: str) -> None:
    """Before a worker chooses a row of `table` to work on (FOR UPDATE SKIP LOCKED): on
    SQLite, which has no row locks, take the database's one write lock now, so that two
    workers on one file take turns instead of both taking the same row. PostgreSQL's SKIP
    LOCKED needs nothing of the kind."""
    if db.engine.dialect.name == "sqlite":
        db.session.execute(text(f"UPDATE {table} SET id = id WHERE 0"))
