"""The gauges `/metrics` reads from the database at scrape time: the state of the work, the
same whichever node is scraped.

Each reading is one function in `READINGS`; a capability with a queue of its own adds one
line there (emails pending and dead: the email work adds its reading to `READINGS`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, select

from licensing.adapters.models import Delivery, JobRun, Order
from licensing.extensions import db


@dataclass(frozen=True)
class Gauge:
    """One gauge family: its name (without the `licensing_` prefix), help, label names and
    samples (label values, value)."""

    name: str
    help: str
    labels: tuple[str, ...]
    samples: tuple[tuple[tuple[str, ...], float], ...]


def orders_by_kind_and_status(now: datetime) -> Gauge:
    rows = select(Order.kind, Order.status, func.count()).group_by(Order.kind, Order.status)
    return Gauge(
        "orders",
        "Orders by kind and status.",
        ("kind", "status"),
        tuple(((kind, status), count) for kind, status, count in _rows(rows)),
    )


def deliveries_by_state(now: datetime) -> Gauge:
    """Notices to subscribers waiting to go out (retries included) and given up."""
    state = case(
        (Delivery.dead_at.is_not(None), "dead"),
        (Delivery.delivered_at.is_(None), "pending"),
        else_="delivered",
    )
    counts = dict(_rows(select(state, func.count()).group_by(state)))
    return Gauge(
        "notice_deliveries",
        "Deliveries of notices to subscribers that are pending (due or awaiting a retry) or "
        "dead-lettered.",
        ("state",),
        tuple(((name,), counts.get(name, 0)) for name in ("pending", "dead")),
    )


def job_run_ages(now: datetime) -> Gauge:
    """Seconds since each periodic job last finished (or started, while its first run is
    still going); a worker that stopped shows as a growing age."""
    runs = _rows(select(JobRun.job, JobRun.outcome, JobRun.started_at, JobRun.finished_at))
    return Gauge(
        "job_last_run_age_seconds",
        "Seconds since each periodic job's last run ended, by the outcome of that run.",
        ("job", "outcome"),
        tuple(
            ((job, outcome), (now - (finished or started)).total_seconds())
            for job, outcome, started, finished in runs
        ),
    )


def _rows(statement: Select[Any]) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in db.session.execute(statement)]


# Each reading costs one aggregate query per scrape (a scrape every 15 s or so).
READINGS: list[Callable[[datetime], Gauge]] = [
    orders_by_kind_and_status,
    deliveries_by_state,
    job_run_ages,
]


def read_gauges(*, now: datetime) -> list[Gauge]:
    return [reading(now) for reading in READINGS]
