"""Each periodic job's last run, kept in the database so that any node can report its age."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from licensing.adapters.models import JobRun
from licensing.adapters.types import insert_for
from licensing.extensions import db
from licensing.services.transactions import commit

RUNNING, OK, FAILED = "running", "ok", "failed"


def record_start(*, job: str, worker: str, now: datetime) -> None:
    """This worker starts `job` now (one row per job, whichever worker ran it last)."""
    started = {"started_at": now, "finished_at": None, "outcome": RUNNING, "worker": worker}
    db.session.execute(
        insert_for(db.engine.dialect.name, JobRun)
        .values(job=job, summary="", **started)
        .on_conflict_do_update(index_elements=["job"], set_={**started, "summary": ""})
    )
    commit()


def record_finish(*, job: str, worker: str, ok: bool, summary: str, now: datetime) -> None:
    """The run this worker started ended now, with what it did (or the error's class name)."""
    values = {"finished_at": now, "outcome": OK if ok else FAILED, "summary": summary[:200]}
    if ok:
        values["last_ok_at"] = now
    db.session.execute(
        update(JobRun).where(JobRun.job == job, JobRun.worker == worker).values(**values)
    )
    commit()


@dataclass(frozen=True)
class LastRun:
    job: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    summary: str
    last_ok_at: datetime | None


def last_runs() -> list[LastRun]:
    """Every job's last run, by job name."""
    rows = db.session.execute(select(JobRun).order_by(JobRun.job)).scalars()
    return [
        LastRun(r.job, r.started_at, r.finished_at, r.outcome, r.summary, r.last_ok_at)
        for r in rows
    ]
