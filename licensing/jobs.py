"""The periodic jobs: what the worker runs on its intervals, and what the operator commands
run once. Each is safe on any number of machines at once (rows taken FOR UPDATE SKIP
LOCKED, or made once by a unique key), so workers never need to agree on who runs what.

Adding a job is one line in `JOBS` and its interval's field in `Settings`
(`worker_<job>_seconds`, read from `WORKER_<JOB>_SECONDS`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app

from licensing.adapters.notice_sender import HttpNoticeSender
from licensing.clock import utcnow
from licensing.services import emails, idempotency, notice_schedule, notices, orders

EXPIRY_BATCH = 100
DELIVERY_BATCH = 100  # bounded, so a stop request waits for a short step at most


def expire_orders(limit: int = EXPIRY_BATCH) -> str:
    """D8: orders unpaid after 24 hours, in batches until none is left."""
    total = 0
    while True:
        run = orders.expire_orders(
            gateway=current_app.extensions["payments"], now=utcnow(), limit=limit
        )
        total += len(run.expired)
        if run.examined < limit:  # an order that could not be cancelled waits an hour
            return f"expired {total} order(s)"


def schedule_notices() -> str:
    """The time-based notices due now, each once per license and term."""
    return f"produced {notice_schedule.schedule(now=utcnow())} notice(s)"


def deliver_notices(limit: int = DELIVERY_BATCH) -> str:
    """The deliveries due now, with retries and dead letters after 24 hours."""
    report = notices.deliver(sender=HttpNoticeSender(), now=utcnow(), limit=limit)
    return (
        f"delivered {report.delivered}, failed {report.failed} (will retry), "
        f"dead-lettered {report.dead}"
    )


def deliver_emails(limit: int = DELIVERY_BATCH) -> str:
    """D25: the emails due now over SMTP, each at most once, dead-lettered after 24 hours."""
    report = emails.deliver(mailer=current_app.extensions["mailer"], now=utcnow(), limit=limit)
    return f"sent {report.sent}, failed {report.failed} (will retry), dead-lettered {report.dead}"


def purge_idempotency_keys() -> str:
    """Idempotency-Keys past the 48 hours they are kept."""
    return f"purged {idempotency.purge(now=utcnow())} key(s)"


@dataclass(frozen=True)
class Job:
    """A periodic job: its name (in logs, `job_runs` and metrics), the `Settings` field of
    its interval in seconds, and what it does (run inside an app context; returns a line
    saying what it did, with no secret in it)."""

    name: str
    interval_setting: str
    run: Callable[[], str]


JOBS: tuple[Job, ...] = (
    Job("orders-expire", "worker_orders_expire_seconds", expire_orders),
    Job("events-schedule", "worker_events_schedule_seconds", schedule_notices),
    Job("events-deliver", "worker_events_deliver_seconds", deliver_notices),
    Job("emails-deliver", "worker_emails_deliver_seconds", deliver_emails),
    Job("idempotency-purge", "worker_idempotency_purge_seconds", purge_idempotency_keys),
)
