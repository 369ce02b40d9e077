"""Whether the service's own dependencies answer, for the readiness probe."""

from __future__ import annotations

from sqlalchemy import text

from licensing.extensions import db


def check_database() -> None:
    """Ask the database the simplest question; its driver's error (503 DATABASE_UNAVAILABLE
    through api/problems.py) when it cannot answer."""
    db.session.execute(text("SELECT 1"))
