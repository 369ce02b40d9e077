"""D25 end to end: every notice about one license also writes one email to its owner, in the
notice's transaction; the outbox is sent over a real SMTP server (aiosmtpd), at most once,
retried with backoff, dead-lettered after 24 hours."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import event, func, select, text

from licensing.adapters.mail import OutgoingMail
from licensing.adapters.models import Email, License, Notice
from licensing.clock import utcnow
from licensing.domain.emails import SUBJECT_LENGTH
from licensing.domain.notices import NoticeType
from licensing.extensions import db
from licensing.services import emails, notice_schedule, notices
from licensing.services.transactions import unit_of_work
from tests.factories import Api, import_license, new_customer, ok

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def outbox(app: Flask) -> list[Email]:
    with app.app_context():
        rows = db.session.execute(select(Email).order_by(Email.id)).scalars().all()
        db.session.expunge_all()
        return list(rows)


def count(app: Flask, model: Any) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def deliver(app: Flask, at: datetime) -> emails.EmailReport:
    with app.app_context():
        return emails.deliver(mailer=app.extensions["mailer"], now=at)


class Recorder:
    """A mailer that keeps what it is given (the message as the outbox renders it)."""

    def __init__(self) -> None:
        self.sent: list[OutgoingMail] = []

    def send(self, mail: OutgoingMail) -> None:
        self.sent.append(mail)


def rendered(app: Flask, at: datetime) -> list[OutgoingMail]:
    """Send what is due at `at` to a recorder: the outbox rows are rendered from then on."""
    recorder = Recorder()
    with app.app_context():
        emails.deliver(mailer=recorder, now=at)
    return recorder.sent


def owned_license(admin: Api, *, purchased_at: str, name: str = "Ann Owner") -> dict[str, Any]:
    customer = new_customer(admin, name=name)
    return import_license(
        admin, customer_id=customer["id"], domain="ann.example.com", purchased_at=purchased_at
    ) | {"email": customer["email"]}


def test_d25_an_issued_license_is_mailed_to_its_owner_over_smtp_once(
    app: Flask, admin: Api, smtp_server: Any, mailer: Any
) -> None:
    license = owned_license(admin, purchased_at="2026-11-01T00:00:00Z")
    [email] = outbox(app)
    assert (email.recipient, email.status) == (license["email"], "pending")
    assert email.cause_key.startswith("notice:") and email.notice_id is not None
    result = app.test_cli_runner().invoke(args=["emails", "deliver"])
    assert result.exit_code == 0 and "sent 1, failed 0" in result.output, result.output
    [message] = smtp_server.received()
    assert message["To"] == license["email"]
    assert message["Subject"] == "Your Shop Pro license for ann.example.com"
    assert message["Message-ID"] == f"<email-{email.id}@licensing>"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for part in (text, html):
        assert license["key"] in part
        assert "http://127.0.0.1:8000/account" in part
    assert (
        "Updates until: Monday 1 November 2027" in text
    )  # updates_until, as the last day it holds
    assert "sent 0" in app.test_cli_runner().invoke(args=["emails", "deliver"]).output
    assert len(smtp_server.received()) == 1
    assert outbox(app)[0].status == "sent"


def test_d25_reminder_states_the_exact_renewal_price_and_the_last_preferential_day(
    app: Flask, admin: Api
) -> None:
    """R18 prices from domain/renewals.py: 20% of $333.33 is $66.67 (half-up, once), 30% is
    $100.00; the window closes a calendar month after updates_until (D14)."""
    ok(admin.put("/v1/editions/pro", json={"price": {"amount": 33333, "currency": "USD"}}))
    license = owned_license(admin, purchased_at="2025-12-01T09:30:00Z", name="<b>Ann & Co</b>")
    with time_machine.travel("2026-11-26T00:00:00Z", tick=False):
        assert "produced 1" in app.test_cli_runner().invoke(args=["events", "schedule"]).output
    unrendered = outbox(app)[-1]
    assert (unrendered.subject, unrendered.text_body, unrendered.html_body) == (None, None, None)
    sent = rendered(app, datetime(2026, 11, 26, 0, 0, 5, tzinfo=UTC))  # the worker, 5 s later
    reminder = outbox(app)[-1]
    assert (sent[-1].subject, sent[-1].text, sent[-1].html) == (
        reminder.subject,
        reminder.text_body,
        reminder.html_body,
    )
    assert reminder.subject == "Updates for ann.example.com end soon: renew now"
    text = " ".join(reminder.text_body.split())
    assert "Your updates for ann.example.com end on Tuesday 1 December 2026." in text
    assert "Renew now for $66.67 (20% of today's list price)" in text
    assert (
        "This rate holds until Friday 1 January 2027 (the last day; 1 January 2027, 09:30 UTC)"
        in text
    )
    assert "After that a renewal costs $100.00." in text
    assert license["key"] in text
    html = reminder.html_body or ""
    assert "$66.67" in html and "Friday 1 January 2027" in html
    assert "&lt;b&gt;Ann &amp; Co&lt;/b&gt;" in html and "<b>Ann" not in html  # autoescaped
    assert "Hello <b>Ann & Co</b>," in reminder.text_body  # plain text is not HTML


def test_d25_scheduling_twice_mails_each_notice_once(app: Flask, admin: Api) -> None:
    owned_license(admin, purchased_at="2025-12-01T00:00:00Z")  # updates until 2026-12-01
    for _ in range(2):
        with time_machine.travel("2026-11-26T00:00:00Z", tick=False):
            app.test_cli_runner().invoke(args=["events", "schedule"])
    with time_machine.travel("2026-12-27T00:00:00Z", tick=False):  # expired; window closing
        app.test_cli_runner().invoke(args=["events", "schedule"])
        app.test_cli_runner().invoke(args=["events", "schedule"])
    rendered(app, datetime(2026, 12, 27, tzinfo=UTC))
    subjects = [email.subject for email in outbox(app)]
    assert subjects == [
        "Your Shop Pro license for ann.example.com",
        "Updates for ann.example.com end soon: renew now",
        "Updates for ann.example.com have ended: renew to keep them coming",
        "Last days to renew ann.example.com at the preferential rate",
    ]
    assert count(app, Notice) == len(subjects)
    with app.app_context():
        notice_ids = set(db.session.execute(select(Notice.id)).scalars())
    assert sorted(email.notice_id for email in outbox(app)) == sorted(notice_ids)


def test_d25_reminders_for_the_longest_domain_are_sent_once_and_recorded(
    app: Flask, admin: Api, smtp_server: Any, mailer: Any
) -> None:
    """A subject is cut to fit the outbox: PostgreSQL refused the expired reminder's 310
    characters for a 253-character domain at commit, after the send, and the row went out
    again at every run, holding up the rest."""
    domain = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
    customer = new_customer(admin)
    import_license(
        admin, customer_id=customer["id"], domain=domain, purchased_at="2025-12-01T00:00:00Z"
    )
    with time_machine.travel("2026-12-27T00:00:00Z", tick=False):  # expired; window closing
        app.test_cli_runner().invoke(args=["events", "schedule"])
    report = deliver(app, datetime(2026, 12, 27, tzinfo=UTC))
    assert report == emails.EmailReport(sent=3)
    assert deliver(app, datetime(2026, 12, 28, tzinfo=UTC)) == emails.EmailReport()
    assert len(smtp_server.received()) == 3
    rows = outbox(app)
    assert {email.status for email in rows} == {"sent"}
    assert max(len(email.subject or "") for email in rows) == SUBJECT_LENGTH


def test_d25_the_email_is_written_in_the_notices_transaction(app: Flask, admin: Api) -> None:
    """A change that fails after producing its notice leaves neither notice nor email."""
    license = owned_license(admin, purchased_at="2026-11-01T00:00:00Z")
    with app.app_context():
        row = db.session.execute(select(License).where(License.key == license["key"])).scalar_one()
        with pytest.raises(RuntimeError, match="after the notice"), unit_of_work():
            notices.emit(row, NoticeType.LICENSE_RENEWED, "order:999", now=utcnow())
            assert db.session.execute(select(func.count()).select_from(Email)).scalar_one() == 2
            raise RuntimeError("the change fails after the notice")
    assert (count(app, Notice), count(app, Email)) == (1, 1)
    with app.app_context():
        row = db.session.execute(select(License).where(License.key == license["key"])).scalar_one()
        with unit_of_work():
            notices.emit(row, NoticeType.LICENSE_RENEWED, "order:999", now=utcnow())
            notices.emit(row, NoticeType.LICENSE_RENEWED, "order:999", now=utcnow())  # replay
    assert (count(app, Notice), count(app, Email)) == (2, 2)


def test_d25_the_outbox_insert_leaves_the_callers_plan_setting_as_it_was(
    app: Flask, admin: Api
) -> None:
    """On PostgreSQL the outbox INSERT is planned for its values (a generic plan scanned the
    whole outbox); the rest of the caller's transaction keeps the setting it had."""
    license = owned_license(admin, purchased_at="2026-11-01T00:00:00Z")
    with app.app_context():
        postgresql = db.engine.dialect.name == "postgresql"
        row = db.session.execute(select(License).where(License.key == license["key"])).scalar_one()
        statements: list[str] = []

        def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement.split(" (")[0].strip())

        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            with unit_of_work():
                if postgresql:
                    db.session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
                notices.emit(row, NoticeType.LICENSE_RENEWED, "order:998", now=utcnow())
                if postgresql:
                    setting = db.session.execute(text("SHOW plan_cache_mode")).scalar_one()
                    assert setting == "force_generic_plan"
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
    assert count(app, Email) == 2  # the license's issue, and this notice's
    insert = next(n for n, s in enumerate(statements) if s.startswith("INSERT INTO emails"))
    if postgresql:  # the INSERT alone runs under force_custom_plan
        assert statements[insert - 1] == "SET LOCAL plan_cache_mode = force_custom_plan"
        assert statements[insert + 1].startswith("SELECT set_config('plan_cache_mode'")


def test_d25_a_refused_email_is_retried_with_backoff_then_sent_once(
    app: Flask, admin: Api, smtp_server: Any, mailer: Any
) -> None:
    with time_machine.travel(T0, tick=False):
        owned_license(admin, purchased_at="2026-11-01T00:00:00Z")
    smtp_server.refuse_with = "451 4.3.0 mailbox busy, try later"
    assert deliver(app, T0) == emails.EmailReport(failed=1)
    [email] = outbox(app)
    assert (email.attempts, email.next_attempt_at) == (1, T0 + timedelta(seconds=30))
    assert "451" in (email.last_error or "")
    assert deliver(app, T0 + timedelta(seconds=29)) == emails.EmailReport()  # not due yet
    assert deliver(app, T0 + timedelta(seconds=30)) == emails.EmailReport(failed=1)
    assert outbox(app)[0].next_attempt_at == T0 + timedelta(seconds=90)  # 60 s later
    smtp_server.refuse_with = None
    assert deliver(app, T0 + timedelta(seconds=90)) == emails.EmailReport(sent=1)
    [email] = outbox(app)
    assert (email.status, email.attempts, email.last_error) == ("sent", 3, None)
    assert email.sent_at == T0 + timedelta(seconds=90)
    assert len(smtp_server.received()) == 1


def test_d25_an_email_failing_for_24_hours_is_dead_lettered(
    app: Flask, admin: Api, smtp_server: Any, mailer: Any
) -> None:
    with time_machine.travel(T0, tick=False):
        owned_license(admin, purchased_at="2026-11-01T00:00:00Z")
    smtp_server.refuse_with = "550 5.1.1 no such user"
    at, dead = T0, 0
    while dead == 0 and at < T0 + timedelta(hours=30):
        report = deliver(app, at)
        dead += report.dead
        at = outbox(app)[0].next_attempt_at
    [email] = outbox(app)
    assert (email.status, dead) == ("dead", 1)
    assert email.dead_at is not None and email.dead_at - T0 >= timedelta(hours=24)
    assert "550" in (email.last_error or "")
    smtp_server.refuse_with = None
    assert deliver(app, T0 + timedelta(days=3)) == emails.EmailReport()
    assert smtp_server.received() == []
    with app.app_context():
        assert emails.outbox_counts() == {"pending": 0, "sent": 0, "dead": 1}
    cli = app.test_cli_runner()
    listed = cli.invoke(args=["emails", "dead-letters"]).output
    assert listed.startswith(f"{email.id}\t") and "550 5.1.1 no such user" in listed
    assert "no dead-lettered email" in cli.invoke(args=["emails", "retry", "999"]).output
    assert "pending again" in cli.invoke(args=["emails", "retry", str(email.id)]).output
    assert "sent 1," in cli.invoke(args=["emails", "deliver"]).output  # due from now
    assert len(smtp_server.received()) == 1
    with app.app_context():
        assert emails.outbox_counts() == {"pending": 0, "sent": 1, "dead": 0}


def test_d25_two_workers_send_each_email_once(
    app: Flask, admin: Api, smtp_server: Any, mailer: Any
) -> None:
    customer = new_customer(admin)
    with time_machine.travel(T0, tick=False):
        for n in range(12):
            import_license(admin, customer_id=customer["id"], domain=f"w{n}.example.com")
    reports: list[emails.EmailReport] = []
    start = threading.Barrier(2)

    def worker() -> None:
        with app.app_context():
            start.wait()
            reports.append(emails.deliver(mailer=app.extensions["mailer"], now=T0))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(report.sent for report in reports) == 12
    received = sorted(message["Message-ID"] for message in smtp_server.received())
    assert len(received) == len(set(received)) == 12
    assert {email.status for email in outbox(app)} == {"sent"}


def test_d25_a_reminder_comes_due_and_arrives_once_with_two_workers(
    app: Flask, admin: Api, smtp_server: Any, mailer: Any
) -> None:
    """Two workers each schedule the notices due and send the outbox, at the same moment:
    every owner receives the 7-day reminder once."""
    customer = new_customer(admin)
    with time_machine.travel("2026-11-25T00:00:00Z", tick=False):
        for n in range(6):  # updates until 2026-12-01: the 7-day reminder is due on 11-26
            import_license(
                admin,
                customer_id=customer["id"],
                domain=f"r{n}.example.com",
                purchased_at="2025-12-01T00:00:00Z",
            )
    now = datetime(2026, 11, 26, tzinfo=UTC)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker() -> None:
        try:
            with app.app_context():
                start.wait()
                notice_schedule.schedule(now=now)
                emails.deliver(mailer=app.extensions["mailer"], now=now)
        except BaseException as error:  # the assertion below names it
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    reminders = [m for m in smtp_server.received() if "end soon" in m["Subject"]]
    assert sorted(m["Subject"] for m in reminders) == sorted(
        f"Updates for r{n}.example.com end soon: renew now" for n in range(6)
    )
    assert len(smtp_server.received()) == 12  # and each issued license's email, once


def test_d25_an_email_that_cannot_be_composed_fails_alone_and_the_next_goes_out(
    app: Flask, admin: Api, smtp_server: Any, mailer: Any
) -> None:
    """A header with CR/LF (written before names were checked) is one failed attempt, backed
    off and in time dead-lettered; it never rolls back uncounted and blocks the outbox."""
    with time_machine.travel(T0, tick=False):
        owned_license(admin, purchased_at="2026-11-01T00:00:00Z")
        ben = new_customer(admin, name="Ben Owner")
        import_license(
            admin,
            customer_id=ben["id"],
            domain="ben.example.com",
            purchased_at="2026-11-02T00:00:00Z",
        )
    with app.app_context(), unit_of_work():  # rendered before 0020, so sent as it stands
        first = db.session.execute(select(Email).order_by(Email.id)).scalars().first()
        first.subject = "Your Shop Pro\r\nBcc: thief@example.com license"
        first.text_body = "Your license is ready."
    assert deliver(app, T0) == emails.EmailReport(sent=1, failed=1)
    bad, good = outbox(app)
    assert (bad.status, bad.attempts, bad.next_attempt_at) == (
        "pending",
        1,
        T0 + timedelta(seconds=30),
    )
    assert bad.last_error and "thief" not in bad.last_error
    assert good.status == "sent"
    [message] = smtp_server.received()
    assert message["To"] == good.recipient and message["Bcc"] is None


def test_d25_any_other_mailer_failure_is_a_counted_attempt(app: Flask, admin: Api) -> None:
    class Broken:
        def send(self, mail: Any) -> None:
            raise RuntimeError("the mailer broke")

    with time_machine.travel(T0, tick=False):
        owned_license(admin, purchased_at="2026-11-01T00:00:00Z")
    with app.app_context():
        assert emails.deliver(mailer=Broken(), now=T0) == emails.EmailReport(failed=1)
    [email] = outbox(app)
    assert (email.attempts, email.last_error) == (1, "RuntimeError")


def test_d25_a_subject_is_one_line_whatever_the_names_hold() -> None:
    from licensing.domain.emails import subject

    line = subject(NoticeType.LICENSE_ISSUED, domain="a.example", edition="Pro\r\nBcc: x", data={})
    assert line == "Your Shop Pro  Bcc: x license for a.example"
