"""The email outbox (D25): an email for each notice about one license, written in the
notice's own transaction, and sent over SMTP by `emails deliver` (the worker).

The notice's transaction writes the row and its cause only (`notice:<id>`, one per notice);
the worker renders the message at its first attempt, as of the notice's day
(`email_messages.render_notice_email`), and keeps it in the row for the retries. Rendering
a message costs milliseconds, and the scheduling pass writes tens of thousands of notices:
rendering there made the pass ten times slower. A message that cannot be rendered (its
notice or license gone, a template that fails) is a failed attempt like a refused send:
backed off, then dead-lettered.

The recipient is the customer's address at each attempt, not the one of the moment the
notice was written (which the row keeps until then): an address corrected meanwhile (an
owner's change, or an operator's fix to a dead-lettered email before `emails retry`) is
where the message goes, never an address the customer no longer has.

At most once: a row is taken FOR UPDATE SKIP LOCKED (on SQLite, which has no row locks,
after taking the database's one write lock: `take_turns_on_sqlite`, as webhook deliveries
do), so two workers never both hold it; it is sent, and marked sent in that same
transaction. The one window in which a message can go out twice is a crash (or a lost
connection to the database) after the SMTP server accepted it and before the commit: the row
is still pending and is sent again. Every copy carries the same Message-ID
(`<email-<id>@...>`), so a mail system that de-duplicates drops the second.

A failed send is retried with the webhooks' backoff (30 s doubling to 2 h) for 24 hours
after the first attempt, then dead-lettered.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    any_,
    cast,
    exists,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import SQLAlchemyError

from licensing.adapters.mail import Mailer, MailNotSent, OutgoingMail
from licensing.adapters.models import Customer, Email, EmailStatus, License, Notice
from licensing.adapters.types import UTCDateTime, insert_for
from licensing.domain.emails import MAILED_NOTICES, NOTICE_CAUSE_PREFIX
from licensing.domain.errors import NotFound
from licensing.domain.notices import next_attempt
from licensing.extensions import db
from licensing.services.email_messages import NotRenderable, render_notice_email
from licensing.services.transactions import commit, take_turns_on_sqlite, unit_of_work

IDS_PER_QUERY = 500  # well under SQLite's limit of bound parameters in one statement


def _public_url() -> str:
    """The base of links in emails (`PUBLIC_URL`), from the running app's settings."""
    return current_app.config["SETTINGS"].public_url


def enqueue_for_notices(notice_ids: Iterable[int], *, now: datetime) -> int:
    """In the caller's transaction: one email to the owner of each notice named (the ids of
    notices the caller has just written, so they commit or roll back together), for the
    types that are mailed, unless it has one already (the unique `cause_key` holds under any
    race). Returns how many were written.

    Only the row and its cause are written, by one INSERT ... SELECT (each notice reached
    through its primary key; on SQLite, one per IDS_PER_QUERY ids); the message is rendered
    when it is sent (`deliver`).
    """
    wanted = sorted(set(notice_ids))
    if not wanted:
        return 0
    if db.engine.dialect.name == "postgresql":
        # The ids as one array parameter: a statement psycopg converts once and caches, where
        # an IN list of 500 is parsed afresh each time (a scheduling pass: 11 s against 13).
        return _enqueue(Notice.id == any_(cast(wanted, ARRAY(BigInteger))), now=now)
    written = 0
    for start in range(0, len(wanted), IDS_PER_QUERY):
        written += _enqueue(Notice.id.in_(wanted[start : start + IDS_PER_QUERY]), now=now)
    return written


def _enqueue(which: ColumnElement[bool], *, now: datetime) -> int:
    """The recipient is the owner's address now; each attempt to send takes it afresh."""
    rows = (
        select(
            literal(NOTICE_CAUSE_PREFIX) + cast(Notice.id, String),
            Notice.id,
            Customer.id,
            Customer.email,
            literal(EmailStatus.PENDING.value),
            literal(0),
            literal(now, UTCDateTime()),
            literal(now, UTCDateTime()),
        )
        .join(License, License.id == Notice.license_id)
        .join(Customer, Customer.id == License.customer_id)
        .where(which)
        .where(Notice.type.in_(sorted(MAILED_NOTICES)))
        .where(~exists().where(Email.notice_id == Notice.id))
        .order_by(Notice.id)
    )
    columns = [
        "cause_key",
        "notice_id",
        "customer_id",
        "recipient",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
    ]
    insert = insert_for(db.engine.dialect.name, Email).from_select(columns, rows)
    with _planned_afresh():
        return db.session.execute(insert.on_conflict_do_nothing()).rowcount


@contextmanager
def _planned_afresh() -> Iterator[None]:
    """On PostgreSQL, the statements inside are planned for their values each time: this
    INSERT's text is the same for every batch, so psycopg prepares it, and a generic plan made
    while the outbox held the pass's first batches scans it whole once it holds the rest (23 s
    against 8 s for a pass of 51,920 notices at 1M licenses). The caller's transaction then
    goes on with the setting it had (a notice emitted in a request's transaction is followed
    by that request's own statements)."""
    if db.engine.dialect.name != "postgresql":
        yield
        return
    previous = db.session.execute(text("SELECT current_setting('plan_cache_mode')")).scalar_one()
    db.session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    yield
    db.session.execute(
        text("SELECT set_config('plan_cache_mode', :previous, true)"), {"previous": previous}
    )


@dataclass(frozen=True)
class EmailReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0


def deliver(*, mailer: Mailer, now: datetime, limit: int = 500) -> EmailReport:
    """Send the emails that are due, each in its own transaction, at most `limit`; safe on
    any number of machines at once. The worker's job list calls this every few seconds."""
    counts = {"sent": 0, "failed": 0, "dead": 0}
    for _ in range(limit):
        with unit_of_work():
            outcome = _send_next(mailer, now)
        if outcome is None:
            break
        counts[outcome] += 1
    return EmailReport(**counts)


def _send_next(mailer: Mailer, now: datetime) -> str | None:
    """Attempt the next due email no other worker holds; None when none is left."""
    take_turns_on_sqlite(Email.__tablename__)
    email = db.session.execute(
        select(Email)
        .where(Email.status == EmailStatus.PENDING.value, Email.next_attempt_at <= now)
        .order_by(Email.next_attempt_at, Email.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    return None if email is None else _attempt(email, mailer, now)


def _attempt(email: Email, mailer: Mailer, now: datetime) -> str:
    email.attempts += 1
    email.first_attempt_at = email.first_attempt_at or now
    try:
        message = _outgoing(email)
        # The row as it is about to be sent, written before the send: a row the database
        # refuses (its error is not an attempt's, below) rolls back unsent, never sent and
        # then forgotten to be sent again at every run.
        db.session.flush()
        mailer.send(message)
    except SQLAlchemyError:
        raise
    except Exception as error:  # any other failure is one failed attempt, never a stop
        # Not only MailNotSent: an email the mailer chokes on, or one that cannot be
        # rendered, must be counted and backed off like any other, or it rolls back
        # uncounted and blocks the outbox forever.
        known = isinstance(error, MailNotSent | NotRenderable)
        email.last_error = (str(error) if known else type(error).__name__)[:500]
        retry_at = next_attempt(
            first_attempt_at=email.first_attempt_at, attempts=email.attempts, now=now
        )
        if retry_at is None:
            email.status, email.dead_at = EmailStatus.DEAD.value, now
            return "dead"
        email.next_attempt_at = retry_at
        return "failed"
    email.status, email.sent_at, email.last_error = EmailStatus.SENT.value, now, None
    return "sent"


def _outgoing(email: Email) -> OutgoingMail:
    """The message, rendered at the first attempt that can (then kept in the row, so that
    every retry sends the same words), to the owner's address as it is now."""
    if email.subject is None or email.text_body is None:
        message = render_notice_email(email.notice_id, email.customer_id, public_url=_public_url())
        email.subject, email.text_body = message.subject, message.text
        email.html_body = message.html
    if email.customer_id is not None:
        customer = db.session.get(Customer, email.customer_id)
        if customer is None:
            raise NotRenderable("could not be addressed: its customer is gone")
        email.recipient = customer.email
    return OutgoingMail(
        to=email.recipient,
        subject=email.subject,
        text=email.text_body,
        html=email.html_body,
        message_id=f"<email-{email.id}@licensing>",
    )


def dead_letters(*, limit: int = 100) -> list[Email]:
    """The newest `limit` emails given up on, for an operator to look at."""
    return list(
        db.session.execute(
            select(Email)
            .where(Email.status == EmailStatus.DEAD.value)
            .order_by(Email.dead_at.desc(), Email.id.desc())
            .limit(limit)
        ).scalars()
    )


def retry_dead_letter(email_id: int, *, now: datetime) -> Email:
    """Give a dead-lettered email another 24 hours of attempts, starting now (once an
    operator has fixed what made it fail: the server, the address)."""
    email = db.session.get(Email, email_id, with_for_update=True)
    if email is None or email.status != EmailStatus.DEAD.value:
        raise NotFound(
            f"There is no dead-lettered email with the id {email_id}.", code="EMAIL_NOT_FOUND"
        )
    email.status, email.dead_at, email.first_attempt_at = EmailStatus.PENDING.value, None, None
    email.attempts, email.next_attempt_at = 0, now
    commit()
    return email


def outbox_counts() -> dict[str, int]:
    """How many emails are pending, sent and dead (for metrics and the operator)."""
    rows = db.session.execute(select(Email.status, func.count()).group_by(Email.status))
    counts = {status.value: 0 for status in EmailStatus}
    counts.update({status: count for status, count in rows})
    return counts
