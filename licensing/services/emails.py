"""The email outbox (D25): an email for each notice about one license, written in the
notice's own transaction, and sent over SMTP by `emails deliver` (the worker).

At most once: a row is taken FOR UPDATE SKIP LOCKED and claimed by a conditional UPDATE (so
two workers never both hold it, on PostgreSQL or SQLite), sent, and marked sent in that same
transaction. The one window in which a message can go out twice is a crash (or a lost
connection to the database) after the SMTP server accepted it and before the commit: the row
is still pending and is sent again. Every copy carries the same Message-ID
(`<email-<id>@...>`), so a mail system that de-duplicates drops the second.

A failed send is retried with the webhooks' backoff (30 s doubling to 2 h) for 24 hours
after the first attempt, then dead-lettered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import exists, func, select, tuple_, update

from licensing.adapters.mail import Mailer, MailNotSent, OutgoingMail
from licensing.adapters.models import Customer, Edition, Email, EmailStatus, License, Notice
from licensing.adapters.types import insert_for
from licensing.domain.emails import MAILED_NOTICES, notice_cause
from licensing.domain.errors import NotFound
from licensing.domain.notices import NoticeType, next_attempt
from licensing.extensions import db
from licensing.services.email_messages import notice_message
from licensing.services.transactions import commit, unit_of_work

NoticeKey = tuple[str, int, str]  # (type, license_id, term_key): a notice's unique key
KEYS_PER_QUERY = 500  # well under SQLite's limit of bound parameters in one statement


def _public_url() -> str:
    """The base of links in emails (`PUBLIC_URL`), from the running app's settings."""
    return current_app.config["SETTINGS"].public_url


def enqueue_for_notices(keys: Iterable[NoticeKey], *, now: datetime) -> int:
    """In the caller's transaction: one email to the owner of each notice named, unless it
    has one already (the unique `cause_key` holds under any race). Returns how many were
    written. The caller has just produced the notices, so they commit or roll back together.
    """
    wanted = sorted({key for key in keys if NoticeType(key[0]) in MAILED_NOTICES})
    if not wanted:
        return 0
    db.session.flush()
    written = 0
    for start in range(0, len(wanted), KEYS_PER_QUERY):
        written += _enqueue(wanted[start : start + KEYS_PER_QUERY], now=now)
    return written


def _enqueue(keys: list[NoticeKey], *, now: datetime) -> int:
    """Each notice read through its unique key's index; none already mailed."""
    found = db.session.execute(
        select(Notice, License, Customer, Edition)
        .join(License, License.id == Notice.license_id)
        .join(Customer, Customer.id == License.customer_id)
        .join(Edition, Edition.code == License.edition_code)
        .where(tuple_(Notice.type, Notice.license_id, Notice.term_key).in_(keys))
        .where(~exists().where(Email.notice_id == Notice.id))
        .order_by(Notice.id)
    ).all()
    rows = [_email_row(*row, now=now) for row in found]
    if rows:
        insert = insert_for(db.engine.dialect.name, Email)
        db.session.execute(insert.values(rows).on_conflict_do_nothing())
    return len(rows)


def _email_row(
    notice: Notice, license: License, customer: Customer, edition: Edition, *, now: datetime
) -> dict[str, Any]:
    message = notice_message(notice, license, customer, edition, public_url=_public_url(), now=now)
    return {
        "cause_key": notice_cause(notice.id),
        "notice_id": notice.id,
        "customer_id": customer.id,
        "recipient": customer.email,
        "subject": message.subject,
        "text_body": message.text,
        "html_body": message.html,
        "status": EmailStatus.PENDING.value,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
    }


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
        if outcome in counts:
            counts[outcome] += 1
    return EmailReport(**counts)


def _send_next(mailer: Mailer, now: datetime) -> str | None:
    """Attempt the next due email no other worker holds; None when none is left."""
    email = db.session.execute(
        select(Email)
        .where(Email.status == EmailStatus.PENDING.value, Email.next_attempt_at <= now)
        .order_by(Email.next_attempt_at, Email.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    if email is None:
        return None
    if not _claim(email):
        return "taken"  # SQLite has no SKIP LOCKED: another worker sent it meanwhile
    return _attempt(email, mailer, now)


def _claim(email: Email) -> bool:
    """Count the attempt only if the row is as it was read; a worker that lost the race
    (possible on SQLite only) updates nothing and leaves the email alone."""
    claimed = db.session.execute(
        update(Email)
        .where(
            Email.id == email.id,
            Email.attempts == email.attempts,
            Email.status == EmailStatus.PENDING.value,
        )
        .values(attempts=Email.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return False
    db.session.refresh(email)
    return True


def _attempt(email: Email, mailer: Mailer, now: datetime) -> str:
    mail = OutgoingMail(
        to=email.recipient,
        subject=email.subject,
        text=email.text_body,
        html=email.html_body,
        message_id=f"<email-{email.id}@licensing>",
    )
    email.first_attempt_at = email.first_attempt_at or now
    try:
        mailer.send(mail)
    except Exception as error:  # any failure is one failed attempt, never a stop
        # Not only MailNotSent: an email the mailer chokes on must be counted and backed
        # off like any other, or it rolls back uncounted and blocks the outbox forever.
        reason = str(error) if isinstance(error, MailNotSent) else type(error).__name__
        email.last_error = reason[:500]
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
