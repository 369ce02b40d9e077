"""The notice outbox: producing events exactly once, and delivering them to subscribers."""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, bindparam, exists, literal, select, tuple_

from licensing.adapters.models import Delivery, License, Notice, Subscriber
from licensing.adapters.notice_sender import NoticeSender
from licensing.adapters.pagination import Page
from licensing.adapters.types import UTCDateTime, insert_for
from licensing.domain.errors import NotFound
from licensing.domain.licenses import LicenseStatus
from licensing.domain.notices import (
    EXPIRED_NOTICE_WITHIN,
    EXPIRING_NOTICES,
    NoticeType,
    due_notices,
    next_attempt,
    signature,
)
from licensing.domain.periods import rfc3339
from licensing.extensions import db
from licensing.services import emails
from licensing.services.transactions import (
    commit,
    holds_transaction,
    take_turns_on_sqlite,
    unit_of_work,
)

SCHEDULE_BATCH = 2000
# On PostgreSQL a pass runs in this many lanes at once, each on its own connection: while one
# waits for the database to write its batch, another builds its next one in Python.
SCHEDULE_LANES = 2
SIGNATURE_HEADER = "Licensing-Signature"


def _insert_new(rows: list[dict[str, Any]]) -> list[int]:
    """Insert notices, skipping any already produced (the unique key is type+license+term);
    the ids of those inserted now."""
    if not rows:
        return []
    # One statement compiled once, the rows sent in batches (SQLAlchemy's insertmanyvalues).
    insert = insert_for(db.engine.dialect.name, Notice.__table__).on_conflict_do_nothing()
    return list(db.session.scalars(insert.returning(Notice.id), rows))


def license_facts(license: Any) -> dict[str, Any]:
    """A license's facts in a notice (a License, or a row with the same columns)."""
    return {
        "license_key": license.key,
        "customer_id": license.customer_id,
        "edition": license.edition_code,
        "domain": license.domain,
        "status": license.status,
        "updates_until": rfc3339(license.updates_until),
    }


def emit(
    license: License, notice_type: NoticeType, term_key: str, *, now: datetime, **data: Any
) -> None:
    """Produce a notice in the caller's transaction, once per (type, license, term_key), and
    its email to the license's owner in the same transaction (D25)."""
    db.session.flush()
    made = _insert_new(
        [
            {
                "type": notice_type.value,
                "license_id": license.id,
                "term_key": term_key,
                "data": {**license_facts(license), **data},
                "created_at": now,
            }
        ]
    )
    emails.enqueue_for_notices(made, now=now)


SCHEDULED = (
    select(
        License.id,
        License.key,
        License.customer_id,
        License.edition_code,
        License.domain,
        License.status,
        License.updates_until,
    )
    .where(
        License.status == LicenseStatus.ACTIVE.value,
        tuple_(License.updates_until, License.id)
        > tuple_(bindparam("after_until", type_=UTCDateTime()), bindparam("after_id")),
        License.updates_until <= bindparam("horizon_end", type_=UTCDateTime()),
        License.id % bindparam("lanes") == bindparam("lane"),
    )
    .order_by(License.updates_until, License.id)
    .limit(SCHEDULE_BATCH)
)


def schedule(*, now: datetime) -> int:
    """Produce the time-based notices due now (expiring, expired, window closing).

    Only licenses whose `updates_until` lies in the span any such notice looks at are read:
    in batches along the `updates_until` index (the last row's instant and id start the
    next), the columns only, never every license; each notice's key names its term, so
    rerunning (on any number of machines) produces nothing twice. Each notice's email to the
    owner (D25) is written in the notice's transaction, once per notice however often this
    runs.

    On PostgreSQL the licenses are shared among `SCHEDULE_LANES` lanes by their id, each in
    a thread with its own session, committing its own batches: the app's work on one
    lane's batch and the database's on another's overlap (a pass over 1M licenses is about
    half each). A lane that fails stops the others after their batch in hand, and its error
    is raised here; what was committed stays, and the next pass does the rest. SQLite has one
    writer at a time, and a caller with a transaction open has its own writes and locks the
    lanes could neither see nor wait for: for both the pass is one lane, in the caller's
    session.
    """
    if db.engine.dialect.name != "postgresql" or holds_transaction():
        return _schedule_lane(now, lane=0, lanes=1)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    stop = threading.Event()

    def run(lane: int) -> int:
        with app.app_context():
            try:
                return _schedule_lane(now, lane=lane, lanes=SCHEDULE_LANES, stop=stop)
            except BaseException:
                stop.set()
                raise
            finally:
                db.session.remove()

    with ThreadPoolExecutor(SCHEDULE_LANES, thread_name_prefix="schedule-lane") as pool:
        lanes = [pool.submit(run, lane) for lane in range(SCHEDULE_LANES)]
        try:
            wait(lanes)
        except BaseException:  # interrupted: each lane stops after its batch in hand
            stop.set()
            raise
    return _produced(lanes)


def _produced(lanes: list[Future[int]]) -> int:
    """The notices the lanes found due; the first lane's error, naming any other's."""
    errors = [error for lane in lanes if (error := lane.exception()) is not None]
    if errors:
        for other in errors[1:]:
            errors[0].add_note(f"another scheduling lane failed too: {type(other).__name__}")
        raise errors[0]
    return sum(lane.result() for lane in lanes)


def _schedule_lane(
    now: datetime, *, lane: int, lanes: int, stop: threading.Event | None = None
) -> int:
    """The notices due for the licenses whose id is `lane` modulo `lanes`, batch by batch,
    until none is left or `stop` is set."""
    after = {
        "after_until": now - EXPIRED_NOTICE_WITHIN - timedelta(days=1),
        "after_id": 0,
        "horizon_end": now + max(EXPIRING_NOTICES),
        "lanes": lanes,
        "lane": lane,
    }
    produced = 0
    while not (stop and stop.is_set()) and (batch := db.session.execute(SCHEDULED, after).all()):
        rows = [
            {
                "type": due.type.value,
                "license_id": license.id,
                "term_key": due.term_key,
                "data": {**license_facts(license), **due.data},
                "created_at": now,
            }
            for license in batch
            for due in due_notices(license.updates_until, now)
        ]
        emails.enqueue_for_notices(_insert_new(rows), now=now)
        commit()
        produced += len(rows)
        after.update(after_until=batch[-1].updates_until, after_id=batch[-1].id)
    return produced


def _fan_out(now: datetime) -> None:
    """One delivery per (notice, subscriber) for notices made since the subscriber joined."""
    missing = (
        select(Notice.id, Subscriber.id, Notice.created_at, literal(0))
        .join(
            Subscriber,
            and_(Notice.created_at >= Subscriber.created_at, Subscriber.disabled_at.is_(None)),
        )
        .where(
            ~exists().where(
                Delivery.notice_id == Notice.id, Delivery.subscriber_id == Subscriber.id
            )
        )
    )
    columns = ["notice_id", "subscriber_id", "next_attempt_at", "attempts"]
    fan_out = insert_for(db.engine.dialect.name, Delivery).from_select(columns, missing)
    db.session.execute(fan_out.on_conflict_do_nothing())  # another machine may fan out too
    commit()


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    dead: int = 0


def deliver(*, sender: NoticeSender, now: datetime, limit: int = 500) -> DeliveryReport:
    """Send what is due, one delivery per transaction, each row taken FOR UPDATE SKIP LOCKED,
    so several machines can run this at once and a delivered notice is never sent again."""
    _fan_out(now)
    delivered = failed = dead = 0
    for _ in range(limit):
        # Its own unit: a sent notice is recorded before the next send, whatever follows.
        with unit_of_work():
            outcome = _deliver_next(sender, now)
        if outcome is None:
            break
        delivered += outcome == "delivered"
        failed += outcome == "failed"
        dead += outcome == "dead"
    return DeliveryReport(delivered, failed, dead)


def _deliver_next(sender: NoticeSender, now: datetime) -> str | None:
    """Attempt the next due delivery no other machine holds; None when none is left."""
    take_turns_on_sqlite(Delivery.__tablename__)
    delivery = db.session.execute(
        select(Delivery)
        .where(
            Delivery.delivered_at.is_(None),
            Delivery.dead_at.is_(None),
            Delivery.next_attempt_at <= now,
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=Delivery)
    ).scalar_one_or_none()
    return None if delivery is None else _attempt(delivery, sender, now)


def _attempt(delivery: Delivery, sender: NoticeSender, now: datetime) -> str:
    subscriber = db.session.get(Subscriber, delivery.subscriber_id)
    assert subscriber is not None
    notice = delivery.notice
    body = json.dumps(
        {
            "id": notice.id,
            "type": notice.type,
            "created_at": rfc3339(notice.created_at),
            "data": notice.data,
        },
        sort_keys=True,
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "Licensing-Event-Id": str(notice.id),
        SIGNATURE_HEADER: signature(subscriber.secret, body, int(now.timestamp())),
    }
    error = sender.send(subscriber.url, body, headers)
    delivery.attempts += 1
    delivery.first_attempt_at = delivery.first_attempt_at or now
    if error is None:
        delivery.delivered_at = now
        return "delivered"
    delivery.last_error = error[:500]
    retry_at = next_attempt(
        first_attempt_at=delivery.first_attempt_at, attempts=delivery.attempts, now=now
    )
    if retry_at is None:
        delivery.dead_at = now
        return "dead"
    delivery.next_attempt_at = retry_at
    return "failed"


def add_subscriber(*, url: str, secret: str, now: datetime) -> Subscriber:
    subscriber = Subscriber(url=url, secret=secret, created_at=now)
    db.session.add(subscriber)
    commit()
    return subscriber


def list_subscribers() -> Page[Subscriber]:
    """Every subscriber, enabled or not (one page)."""
    subscribers = db.session.execute(select(Subscriber).order_by(Subscriber.id)).scalars()
    return Page(list(subscribers), next_cursor=None)


def disable_subscriber(subscriber_id: int, *, now: datetime) -> Subscriber:
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise NotFound(
            f"There is no subscriber with the id {subscriber_id}.", code="SUBSCRIBER_NOT_FOUND"
        )
    subscriber.disabled_at = subscriber.disabled_at or now
    commit()
    return subscriber


def dead_letters(*, limit: int = 500) -> Page[Delivery]:
    """The newest `limit` deliveries given up (one page)."""
    dead = db.session.execute(
        select(Delivery)
        .where(Delivery.dead_at.is_not(None))
        .order_by(Delivery.dead_at.desc())
        .limit(limit)
    ).scalars()
    return Page(list(dead), next_cursor=None)


def retry_dead_letter(delivery_id: int, *, now: datetime) -> Delivery:
    """Give a dead-lettered delivery another 24 hours of attempts, starting now."""
    delivery = db.session.get(Delivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.dead_at is None:
        raise NotFound(
            f"There is no dead-lettered delivery with the id {delivery_id}.",
            code="DELIVERY_NOT_FOUND",
        )
    delivery.dead_at = None
    delivery.first_attempt_at = None
    delivery.attempts = 0
    delivery.next_attempt_at = now
    commit()
    return delivery
