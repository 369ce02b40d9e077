"""The notice outbox end to end: produced once per license and term, delivered signed to a
real local HTTP receiver, retried with backoff, dead-lettered after 24 hours."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from licensing.adapters.models import Email, License, Notice
from licensing.adapters.notice_sender import HttpNoticeSender
from licensing.domain.notices import NoticeType, due_notices
from licensing.extensions import db
from licensing.services import notice_schedule, notices
from tests.factories import Api, created, import_license, new_customer, ok, problem
from tests.fakes import FakeGateway, charge, intent, signed, stripe_event
from tests.subscribers import SECRET, Receiver

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TIME_BASED = (
    NoticeType.SUBSCRIPTION_EXPIRING,
    NoticeType.SUBSCRIPTION_EXPIRED,
    NoticeType.PREFERENTIAL_WINDOW_CLOSING,
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def subscribe(admin: Api, receiver: Receiver) -> dict:
    return created(admin.post("/v1/subscribers", json={"url": receiver.url, "secret": SECRET}))


def run(app: Flask, command: str) -> str:
    result = app.test_cli_runner().invoke(args=["events", command])
    assert result.exit_code == 0, result.output
    return result.output


def count_notices(app: Flask, kind: str | None = None) -> int:
    with app.app_context():
        query = select(func.count()).select_from(Notice)
        if kind:
            query = query.where(Notice.type == kind)
        return db.session.execute(query).scalar_one()


def test_signed_notice_reaches_the_subscriber_and_verifies(
    app: Flask, admin: Api, receiver: Receiver
) -> None:
    subscriber = subscribe(admin, receiver)
    assert "secret" not in subscriber
    customer = new_customer(admin)
    license = import_license(admin, customer_id=customer["id"], domain="notified.example.com")
    assert "delivered 1" in run(app, "deliver")
    headers, body = receiver.received[0]
    timestamp, v1 = (part.split("=", 1)[1] for part in headers["Licensing-Signature"].split(","))
    expected = hmac.new(
        SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(v1, expected)
    notice = json.loads(body)
    assert notice["type"] == "license.issued"
    assert (
        notice["data"]["license_key"] == license["key"]
        and notice["data"]["domain"] == "notified.example.com"
    )
    assert headers["Licensing-Event-Id"] == str(notice["id"])
    assert "delivered 0" in run(app, "deliver")  # nothing is sent twice after success
    assert len(receiver.received) == 1


def test_a_receiver_failing_three_times_gets_the_notice_on_the_fourth_try(
    app: Flask, admin: Api, receiver: Receiver
) -> None:
    with time_machine.travel(T0, tick=False):
        subscribe(admin, receiver)
        import_license(
            admin, customer_id=new_customer(admin)["id"], purchased_at="2026-11-01T00:00:00Z"
        )
    receiver.statuses = [500, 503, 404]
    with app.app_context():
        sender = HttpNoticeSender()
        for minutes, delivered in ((0, 0), (1, 0), (2, 0), (3, 0), (10, 1), (20, 0)):
            with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False):
                assert (
                    notices.deliver(sender=sender, now=T0 + timedelta(minutes=minutes)).delivered
                    == delivered
                )
    assert len(receiver.received) == 4
    assert len({json.loads(body)["id"] for _, body in receiver.received}) == 1


def test_after_24_hours_of_failures_the_delivery_is_dead_lettered_and_listed(
    app: Flask, admin: Api, receiver: Receiver
) -> None:
    with time_machine.travel(T0, tick=False):
        subscribe(admin, receiver)
        import_license(
            admin, customer_id=new_customer(admin)["id"], purchased_at="2026-11-01T00:00:00Z"
        )
    receiver.statuses = [500] * 1000
    with app.app_context():
        now, dead = T0, 0
        while now <= T0 + timedelta(hours=25) and not dead:
            dead = notices.deliver(sender=HttpNoticeSender(), now=now).dead
            now += timedelta(minutes=30)
    assert dead == 1
    letters = ok(admin.get("/v1/notices/dead-letters"))["items"]
    assert len(letters) == 1 and letters[0]["notice"]["type"] == "license.issued"
    assert letters[0]["last_error"] == "HTTP 500" and letters[0]["attempts"] >= 10
    retried = ok(admin.post(f"/v1/notices/dead-letters/{letters[0]['id']}/retry"))
    assert retried["dead_at"] is None and retried["attempts"] == 0
    receiver.statuses = []
    assert "delivered 1" in run(app, "deliver")
    assert ok(admin.get("/v1/notices/dead-letters"))["items"] == []


def test_time_based_notices_are_produced_once_per_license_and_term(
    app: Flask, client: FlaskClient, admin: Api, checkout: Api, gateway: FakeGateway
) -> None:
    customer = new_customer(admin)
    license = import_license(
        admin, customer_id=customer["id"], purchased_at="2025-12-01T00:00:00Z"
    )  # until 2026-12-01
    with time_machine.travel("2026-11-26T00:00:00Z", tick=False):
        run(app, "schedule")
        run(app, "schedule")
    assert count_notices(app, "subscription.expiring") == 1  # the 7-day one, once
    with time_machine.travel("2026-11-26T01:00:00Z", tick=False):
        order = created(
            checkout.post("/v1/orders", json={"kind": "renewal", "license_key": license["key"]})
        )
    pi = order["payment"]["payment_intent_id"]
    body, headers = signed(
        stripe_event(
            "payment_intent.succeeded",
            intent(pi, charge="ch_r"),
            created=datetime(2026, 11, 26, 2, tzinfo=UTC),
        )
    )
    assert client.post("/v1/stripe/webhook", data=body, headers=headers).status_code == 200
    assert count_notices(app, "license.renewed") == 1
    with time_machine.travel("2027-11-24T00:00:00Z", tick=False):  # the new term's last week
        run(app, "schedule")
    assert count_notices(app, "subscription.expiring") == 2
    amount = order["price"]["amount"]
    body, headers = signed(
        stripe_event(
            "charge.refunded", charge(pi, charge_id="ch_r", amount=amount, refunded=amount)
        )
    )
    client.post("/v1/stripe/webhook", data=body, headers=headers)
    assert count_notices(app, "license.revoked") == 0  # a renewal refund does not revoke


SCHEDULED_NOW = datetime(2026, 11, 26, tzinfo=UTC)
Written = tuple[set[tuple[str, str, str]], set[int], int, int]


def licenses_in_span(admin: Api) -> set[tuple[str, str, str]]:
    """Licenses whose terms end on either side of SCHEDULED_NOW, owned by two customers;
    the (type, key, term) of every time-based notice the rules call for at that instant."""
    owners = [new_customer(admin)["id"], new_customer(admin)["id"]]
    ends = [
        SCHEDULED_NOW + timedelta(days=days, hours=3) for days in (-40, -20, -3, 0, 2, 10, 25, 45)
    ]
    made = [
        import_license(
            admin, customer_id=owners[n % 2], purchased_at=until - relativedelta(years=1)
        )
        for n, until in enumerate(ends)
    ]
    expected = {
        (due.type.value, license["key"], due.term_key)
        for license in made
        for due in due_notices(datetime.fromisoformat(license["updates_until"]), SCHEDULED_NOW)
    }
    assert len(expected) >= 6  # the rules call for some, on licenses of both parities
    return expected


def written(app: Flask) -> Written:
    """The time-based notices written, their licenses' id parities, and how many notices and
    emails there are in all."""
    with app.app_context():
        rows = db.session.execute(
            select(Notice.type, License.key, Notice.term_key, License.id)
            .join(License)
            .where(Notice.type.in_([kind.value for kind in TIME_BASED]))
        ).all()
        every = db.session.execute(select(func.count()).select_from(Notice)).scalar_one()
        mailed = db.session.execute(select(func.count()).select_from(Email)).scalar_one()
    return {tuple(row[:3]) for row in rows}, {row.id % 2 for row in rows}, every, mailed


def test_r17_r18_d25_a_pass_produces_each_due_notice_once_with_its_email_in_any_lane(
    app: Flask, admin: Api
) -> None:
    """One pass writes exactly the notices R17 and R18 call for (on PostgreSQL the licenses
    are shared among lanes by id, so both lanes have some), each with its email (D25); a
    second pass writes nothing."""
    expected = licenses_in_span(admin)
    with app.app_context():
        assert notice_schedule.schedule(now=SCHEDULED_NOW) == len(expected)
    first = written(app)
    produced, parities, every, mailed = first
    assert produced == expected
    assert parities == {0, 1}
    assert mailed == every  # every notice is mailed (D25): each has its email, once
    with app.app_context():
        # found again, written no more
        assert notice_schedule.schedule(now=SCHEDULED_NOW) == len(expected)
    assert written(app) == first


@pytest.fixture
def lanes_seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int, str]]:
    """Each lane a pass runs: (lane, lanes, its session's id, its thread's name)."""
    seen: list[tuple[int, int, int, str]] = []
    real = notice_schedule._schedule_lane

    def recorded(now: datetime, **kwargs: Any) -> int:
        seen.append(
            (kwargs["lane"], kwargs["lanes"], id(db.session()), threading.current_thread().name)
        )
        return real(now, **kwargs)

    monkeypatch.setattr(notice_schedule, "_schedule_lane", recorded)
    return seen


def test_the_worker_command_runs_a_lane_per_thread_and_session_on_postgresql(
    app: Flask, admin: Api, lanes_seen: list[tuple[int, int, int, str]]
) -> None:
    """`events schedule` (what the worker's job runs): on PostgreSQL two lanes, each in a
    thread of its own with a session of its own; on SQLite one, in the command's own."""
    licenses_in_span(admin)
    with time_machine.travel(SCHEDULED_NOW, tick=False):
        run(app, "schedule")
    if db_name(app) == "postgresql":
        assert sorted((lane, lanes) for lane, lanes, _, _ in lanes_seen) == [(0, 2), (1, 2)]
        assert len({session for _, _, session, _ in lanes_seen}) == 2
        assert all(thread.startswith("schedule-lane") for *_, thread in lanes_seen)
    else:
        assert [(lane, lanes) for lane, lanes, _, _ in lanes_seen] == [(0, 1)]
        assert lanes_seen[0][3] == threading.current_thread().name


def test_a_pass_in_a_callers_transaction_is_one_lane_in_its_session(
    app: Flask, admin: Api, lanes_seen: list[tuple[int, int, int, str]]
) -> None:
    """A caller with a transaction open keeps the pass in it: lanes could neither see its
    uncommitted rows nor wait for its locks."""
    expected = licenses_in_span(admin)
    with app.app_context():
        db.session.execute(select(func.count()).select_from(License))  # a transaction begins
        callers = id(db.session())
        assert notice_schedule.schedule(now=SCHEDULED_NOW) == len(expected)
    assert [(lane, lanes, session) for lane, lanes, session, _ in lanes_seen] == [(0, 1, callers)]
    assert written(app)[0] == expected


def test_a_failing_lane_is_raised_and_the_next_pass_writes_the_rest_once(
    app: Flask, admin: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last lane fails at once: its error reaches the caller (the others stop after
    their batch in hand, what they committed stays), and the next pass writes every notice
    due, each once."""
    expected = licenses_in_span(admin)
    real = notice_schedule._schedule_lane

    def failing(now: datetime, **kwargs: Any) -> int:
        if kwargs["lane"] == kwargs["lanes"] - 1:
            raise RuntimeError("lane down")
        return real(now, **kwargs)

    monkeypatch.setattr(notice_schedule, "_schedule_lane", failing)
    with app.app_context(), pytest.raises(RuntimeError, match="lane down"):
        notice_schedule.schedule(now=SCHEDULED_NOW)
    monkeypatch.setattr(notice_schedule, "_schedule_lane", real)
    with app.app_context():
        assert notice_schedule.schedule(now=SCHEDULED_NOW) == len(expected)
    produced, _, every, mailed = written(app)
    assert produced == expected
    assert mailed == every


def db_name(app: Flask) -> str:
    with app.app_context():
        return db.engine.dialect.name


def test_revocation_is_a_notice(
    app: Flask, client: FlaskClient, admin: Api, checkout: Api, gateway: FakeGateway
) -> None:
    customer = new_customer(admin)
    order = created(
        checkout.post(
            "/v1/orders",
            json={
                "kind": "purchase",
                "customer_id": customer["id"],
                "edition": "pro",
                "domain": "gone.example.com",
            },
        )
    )
    pi = order["payment"]["payment_intent_id"]
    for event in (
        stripe_event("payment_intent.succeeded", intent(pi, charge="ch_g")),
        stripe_event("charge.refunded", charge(pi, charge_id="ch_g", amount=30000, refunded=30000)),
    ):
        body, headers = signed(event)
        client.post("/v1/stripe/webhook", data=body, headers=headers)
    assert (count_notices(app, "license.issued"), count_notices(app, "license.revoked")) == (1, 1)


def test_subscribers_are_admin_only_and_validated(
    app: Flask, client: FlaskClient, admin: Api, checkout: Api
) -> None:
    problem(
        checkout.post("/v1/subscribers", json={"url": "http://127.0.0.1:9/x", "secret": SECRET}),
        403,
        "FORBIDDEN",
    )
    bad = problem(
        admin.post("/v1/subscribers", json={"url": "ftp://x", "secret": "short"}),
        422,
        "VALIDATION_FAILED",
    )
    assert set(bad["errors"]) == {"url", "secret"}
    subscriber = created(
        admin.post("/v1/subscribers", json={"url": "http://127.0.0.1:9/x", "secret": SECRET})
    )
    assert ok(admin.post(f"/v1/subscribers/{subscriber['id']}/disable"))["disabled_at"] is not None
    assert [s["id"] for s in ok(admin.get("/v1/subscribers"))["items"]] == [subscriber["id"]]
