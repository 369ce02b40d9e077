"""What the service knows about its own running: each periodic job's last run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from licensing.adapters.types import UTCDateTime
from licensing.extensions import db


class JobRun(db.Model):
    """The last run of one periodic job, by whichever worker ran it (one row per job, so
    any app node can tell how old it is: `/metrics`)."""

    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(60), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(20))  # running, ok, failed
    summary: Mapped[str] = mapped_column(String(200))  # counts, or the error's class name
    worker: Mapped[str] = mapped_column(String(120))  # host:pid
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
