"""Committing a use case, and turning the database's unique violations into conflicts."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy.exc import IntegrityError

from licensing.domain.errors import DomainError
from licensing.extensions import db


def violated(error: IntegrityError, markers: Iterable[str]) -> bool:
    """Whether the violation names one of the markers.

    PostgreSQL names the constraint (`uq_licenses_live_domain`); SQLite names the columns
    (`UNIQUE constraint failed: licenses.domain`), so callers pass both forms.
    """
    message = str(error.orig)
    return any(marker in message for marker in markers)


Conflicts = dict[tuple[str, ...], DomainError]


def commit(*, on_conflict: Conflicts | None = None) -> None:
    """Commit the unit of work; a unique violation the caller expects becomes its error.

    The database, not a Python check, is what makes a conflict impossible under races; the
    check before it only gives the common case a friendly answer.
    """
    _guarded(db.session.commit, on_conflict)


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
