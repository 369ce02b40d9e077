"""Whether the service's own dependencies answer, for the readiness probe."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import text

from licensing.extensions import db


@dataclass(frozen=True)
class Health:
    """What a probe answers: alive (`ok`), `ready`, or `degraded` naming the dependencies
    that are down but not needed to serve."""

    status: str
    degraded: tuple[str, ...] = ()


ALIVE = Health("ok")


def check_database() -> None:
    """Ask the database the simplest question; its driver's error (503 DATABASE_UNAVAILABLE
    through api/problems.py) when it cannot answer."""
    db.session.execute(text("SELECT 1"))


def readiness(*, optional: Mapping[str, Callable[[], bool]]) -> Health:
    """Ready when the database answers (`check_database`), degraded when one of the
    `optional` dependencies (its name, and whether it is up now) is down."""
    check_database()
    degraded = tuple(name for name, is_up in optional.items() if not is_up())
    return Health("degraded" if degraded else "ready", degraded)
