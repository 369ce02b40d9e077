"""Reads outside a transaction, for the read-only hot paths (issue 20)."""

from __future__ import annotations

from licensing.extensions import db


def without_transaction() -> None:
    """Run the rest of this session's statements in autocommit: a request that only reads,
    one consistent statement at a time, needs no BEGIN before its SELECTs nor a ROLLBACK
    after them, two round trips of the four or five such a request makes. A session that is
    in a transaction already (a test's, a write's) keeps it."""
    session = db.session()
    if not session.in_transaction():
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
