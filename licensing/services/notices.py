"""The notice outbox: producing events exactly once, and delivering them to subscribers.

The time-based notices (expiring, expired, window closing) are produced by the scheduling
pass in `notice_schedule.py`, through `insert_new` and `license_facts` here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, literal, select

from licensing.adapters.models import Delivery, License, Notice, Subscriber
from licensing.adapters.notice_sender import NoticeSender
from licensing.adapters.pagination import Page
from licensing.adapters.types import insert_for
from licensing.domain.errors import NotFound
from licensing.domain.notices import NoticeType, next_attempt, signature
from licensing.domain.periods import rfc3339
from licensing.extensions import db
from licensing.services import emails
from licensing.services.transactions import commit, take_turns_on_sqlite, unit_of_work

SIGNATURE_HEADER = "Licensing-Signature"


def insert_new(rows: list[dict[str, Any]]) -> list[int]:
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
    made = insert_new(
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
