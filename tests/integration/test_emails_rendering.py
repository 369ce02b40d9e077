"""D25: a notice's email is written without its words in the notice's transaction and
rendered by the worker that sends it, as of the notice's day; a message that cannot be
rendered is a failed attempt, backed off and dead-lettered, never a stop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from flask import Flask
from sqlalchemy import select, update

from licensing.adapters.mail import MailNotSent, OutgoingMail
from licensing.adapters.models import Customer, Edition, Email, License, Notice
from licensing.extensions import db
from licensing.services import emails, notice_schedule, notices
from licensing.services.transactions import unit_of_work
from tests.api.test_metrics import labels, scrape
from tests.factories import Api, import_license, make_key, new_customer, ok
from tests.integration.test_emails import (
    T0,
    Recorder,
    deliver,
    outbox,
    owned_license,
    rendered,
)

SCHEDULED_AT = datetime(2026, 11, 26, tzinfo=UTC)  # the 7-day reminder of 2026-12-01 is due


def reminder_due(admin: Api) -> dict[str, Any]:
    """A license whose updates end on 2026-12-01, at $333.33, issued and mailed already."""
    ok(admin.put("/v1/editions/pro", json={"price": {"amount": 33333, "currency": "USD"}}))
    with time_machine.travel(SCHEDULED_AT - timedelta(days=1), tick=False):
        return owned_license(admin, purchased_at="2025-12-01T09:30:00Z")


def schedule(app: Flask, at: datetime) -> int:
    with app.app_context():
        return notice_schedule.schedule(now=at)


def test_d25_scheduling_writes_each_notices_email_unrendered_in_its_transaction(
    app: Flask, admin: Api
) -> None:
    license = reminder_due(admin)
    rendered(app, SCHEDULED_AT)  # the issued license's email goes out first
    assert schedule(app, SCHEDULED_AT) == 1
    email = outbox(app)[-1]
    assert (email.status, email.attempts, email.recipient) == ("pending", 0, license["email"])
    assert (email.subject, email.text_body, email.html_body) == (None, None, None)
    with app.app_context():
        notice = db.session.execute(select(Notice).order_by(Notice.id.desc())).scalars().first()
        assert (email.notice_id, email.cause_key) == (notice.id, f"notice:{notice.id}")
    assert schedule(app, SCHEDULED_AT) == 1  # the notice again (skipped), no second email
    assert len(outbox(app)) == 2


def test_d25_a_reminder_sent_late_states_the_price_of_the_notices_day(
    app: Flask, admin: Api
) -> None:
    """Rendered a month later, after the preferential window closed and the license was
    renewed meanwhile: the reminder still says what it said on the notice's day (20% of
    $333.33), and a retry a day later sends the very words of the first attempt, even after
    the list price changed."""
    reminder_due(admin)
    rendered(app, SCHEDULED_AT)
    schedule(app, SCHEDULED_AT)
    with app.app_context(), unit_of_work():  # renewed since (by hand: D16 would refuse now)
        db.session.execute(update(License).values(updates_until=datetime(2027, 12, 1, tzinfo=UTC)))

    class Refusing:
        def send(self, mail: OutgoingMail) -> None:
            raise MailNotSent("451 try later")

    late = datetime(2027, 1, 5, tzinfo=UTC)
    with app.app_context():
        assert emails.deliver(mailer=Refusing(), now=late) == emails.EmailReport(failed=1)
    first = outbox(app)[-1]
    text = " ".join((first.text_body or "").split())
    assert "Your updates for ann.example.com end on Tuesday 1 December 2026." in text
    assert "Renew now for $66.67 (20% of today's list price)" in text
    assert "This rate holds until Friday 1 January 2027" in text
    assert "After that a renewal costs $100.00." in text
    with app.app_context(), unit_of_work():
        db.session.execute(update(Edition).where(Edition.code == "pro").values(price_amount=1))
    [sent] = rendered(app, late + timedelta(days=1))
    assert (sent.subject, sent.text, sent.html) == (
        first.subject,
        first.text_body,
        first.html_body,
    )
    assert outbox(app)[-1].status == "sent"


def test_d25_a_renewal_notice_from_emit_is_mailed_with_its_own_facts(
    app: Flask, admin: Api
) -> None:
    """Notices written by `notices.emit` (issue, renewal, refund) write their email row too."""
    with time_machine.travel(T0, tick=False):
        license = owned_license(admin, purchased_at="2026-11-01T00:00:00Z")
    with app.app_context(), unit_of_work():
        row = db.session.execute(select(License).where(License.key == license["key"])).scalar_one()
        row.updates_until = datetime(2028, 11, 1, tzinfo=UTC)
        notices.emit(row, notices.NoticeType.LICENSE_RENEWED, "order:7", now=T0)
    assert [email.subject for email in outbox(app)] == [None, None]
    sent = rendered(app, T0 + timedelta(days=2))
    assert [mail.subject for mail in sent] == [
        "Your Shop Pro license for ann.example.com",
        "Updates for ann.example.com renewed",
    ]
    assert "They now run until Wednesday 1 November 2028." in " ".join(sent[1].text.split())


def test_d25_an_email_that_cannot_be_rendered_is_backed_off_then_dead_lettered(
    app: Flask, admin: Api
) -> None:
    with time_machine.travel(T0, tick=False):
        owned_license(admin, purchased_at="2026-11-01T00:00:00Z")
        ben = new_customer(admin, name="Ben Owner")
        import_license(admin, customer_id=ben["id"], domain="ben.example.com")
    with app.app_context(), unit_of_work():  # its notice vanished (a row from a bad import)
        first = db.session.execute(select(Email).order_by(Email.id)).scalars().first()
        first.notice_id = None
    recorder = Recorder()
    with app.app_context():
        assert emails.deliver(mailer=recorder, now=T0) == emails.EmailReport(sent=1, failed=1)
    bad, good = outbox(app)
    assert (bad.status, bad.attempts, bad.next_attempt_at) == (
        "pending",
        1,
        T0 + timedelta(seconds=30),
    )
    assert bad.last_error == "could not be rendered: its notice, license or customer is gone"
    assert good.status == "sent" and [mail.to for mail in recorder.sent] == [good.recipient]
    at, dead = T0 + timedelta(seconds=30), 0
    while dead == 0 and at < T0 + timedelta(hours=30):
        with app.app_context():
            dead += emails.deliver(mailer=recorder, now=at).dead
        at = outbox(app)[0].next_attempt_at
    bad = outbox(app)[0]
    assert (bad.status, dead, len(recorder.sent)) == ("dead", 1, 1)
    with app.app_context():
        assert emails.outbox_counts() == {"pending": 0, "sent": 1, "dead": 1}
    listed = app.test_cli_runner().invoke(args=["emails", "dead-letters"]).output
    assert listed.startswith(f"{bad.id}\t") and "could not be rendered" in listed
    scraped = scrape(app.test_client(), make_key(app, "metrics"))
    assert scraped[("licensing_emails", labels(state="dead"))] == 1


def test_d25_the_email_goes_to_the_owners_address_at_delivery(
    app: Flask, admin: Api, smtp_server: Any, mailer: Any
) -> None:
    """An address corrected after the notice is the one mailed; one holding CR/LF (written
    around the checks) is a failed attempt, never a header."""
    with time_machine.travel(T0, tick=False):
        owned_license(admin, purchased_at="2026-11-01T00:00:00Z")
        ben = new_customer(admin, name="Ben Owner")
        import_license(admin, customer_id=ben["id"], domain="ben.example.com")
    first, second = outbox(app)
    with app.app_context(), unit_of_work():
        db.session.execute(
            update(Customer)
            .where(Customer.id == first.customer_id)
            .values(email="ann.new@example.com")
        )
        db.session.execute(
            update(Customer)
            .where(Customer.id == second.customer_id)
            .values(email="ben@example.com\r\nBcc: thief@example.com")
        )
    assert deliver(app, T0) == emails.EmailReport(sent=1, failed=1)
    [message] = smtp_server.received()
    assert message["To"] == "ann.new@example.com" and message["Bcc"] is None
    first, second = outbox(app)
    assert (first.status, first.recipient) == ("sent", "ann.new@example.com")
    assert (second.status, second.attempts) == ("pending", 1)
    assert second.last_error and "thief" not in second.last_error


def test_d25_a_notices_email_greets_the_owner_it_goes_to_after_a_transfer(
    app: Flask, admin: Api
) -> None:
    """Written for Ann, rendered after the license passed to Ben (D21): it is Ann's email,
    addressed to her and greeting her; Ben's name is not in it."""
    license = reminder_due(admin)
    rendered(app, SCHEDULED_AT)
    schedule(app, SCHEDULED_AT)
    reminder = outbox(app)[-1]
    ben = new_customer(admin, name="Ben Buyer")
    with time_machine.travel(SCHEDULED_AT + timedelta(hours=1), tick=False):
        transfer = {"customer_id": ben["id"], "note": "The shop was sold"}
        ok(admin.post(f"/v1/licenses/{license['key']}/transfer", json=transfer))
    mails = rendered(app, SCHEDULED_AT + timedelta(hours=2))
    mail = next(m for m in mails if f"<email-{reminder.id}@" in (m.message_id or ""))
    assert mail.to == license["email"]
    assert "Ann Owner" in mail.text and "Ben Buyer" not in mail.text
