"""Idempotency keys: a retried creating request gets the first answer, and only one effect.

The claim row is flushed inside the request's own transaction, before the use case runs; the
use case's effect and the recorded answer join that transaction, so the three commit together
or not at all (a failed attempt leaves no claim, and a retry runs). A concurrent request with
the same key blocks on the claim's unique index until the first transaction ends, then either
replays the stored answer or (if the first rolled back) runs itself.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from licensing.adapters.models import IdempotencyKey
from licensing.domain.errors import Conflict
from licensing.extensions import db
from licensing.services.transactions import commit, rollback

WAIT_FOR_FIRST = 10.0  # seconds a retry waits for a first request still in flight
KEEP_FOR = timedelta(hours=48)  # the contract promises at least 24 hours


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str


def fingerprint(method: str, path: str, body: bytes) -> str:
    """The request's identity: the same JSON, whatever its key order or spacing."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body.decode("utf-8", "replace")
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def claim(*, api_key_id: int, key: str, request_hash: str, now: datetime) -> StoredResponse | None:
    """None when this request now owns the key; else the first request's answer to replay."""
    deadline = time.monotonic() + WAIT_FOR_FIRST
    while True:
        row = _find(api_key_id, key)
        if row is None:
            db.session.add(
                IdempotencyKey(
                    api_key_id=api_key_id, key=key, request_hash=request_hash, created_at=now
                )
            )
            try:
                db.session.flush()
                return None
            except IntegrityError:
                rollback()  # another request took the key and committed first
                continue
        if row.request_hash != request_hash:
            raise Conflict(
                "This Idempotency-Key was used with a different request.",
                code="IDEMPOTENCY_KEY_REUSED",
            )
        if row.status_code is not None and row.response_body is not None:
            return StoredResponse(row.status_code, row.response_body)
        if time.monotonic() > deadline:
            raise Conflict(
                "A request with this Idempotency-Key is still in progress; retry later.",
                code="IDEMPOTENCY_KEY_IN_USE",
            )
        rollback()  # a fresh snapshot for the next look
        time.sleep(0.05)


def _find(api_key_id: int, key: str) -> IdempotencyKey | None:
    return db.session.execute(
        select(IdempotencyKey).where(
            IdempotencyKey.api_key_id == api_key_id, IdempotencyKey.key == key
        )
    ).scalar_one_or_none()


def record(*, api_key_id: int, key: str, status: int, body: str) -> None:
    """Keep the answer for replays, in the transaction of the claim and the effect."""
    db.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.api_key_id == api_key_id, IdempotencyKey.key == key)
        .values(status_code=status, response_body=body)
    )


def purge(*, now: datetime) -> int:
    """Forget keys older than KEEP_FOR."""
    result = db.session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < now - KEEP_FOR)
    )
    commit()
    return result.rowcount or 0
