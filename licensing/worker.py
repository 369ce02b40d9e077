"""The worker: one long-running process that runs every periodic job on its own interval.

A plain loop rather than a scheduling library: the jobs are a handful of fixed intervals,
one at a time is all a worker needs (more workers, not more threads, for more throughput),
and a loop that runs a step and then looks at the stop flag makes "finish the step in hand,
then exit 0" a property anyone can read off the code. APScheduler and its kind bring
thread pools, misfire rules and their own signal handling, none of which this needs. (One
job is threaded inside its step: a notice-scheduling pass on PostgreSQL runs in two lanes,
`notice_schedule.schedule`, and ends when both have; a stop waits for it as for any step.)

Each run is recorded in `job_runs` (start, finish, outcome). A job that raises is logged
(its class and redacted message; the log filter strips secrets) and runs again on its next
interval: one bad run never stops the worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import time
from collections.abc import Callable, Iterable
from types import FrameType

from flask import Flask

from licensing.clock import utcnow
from licensing.jobs import JOBS, Job
from licensing.services import job_runs
from licensing.services.transactions import rollback

log = logging.getLogger("licensing.worker")


class StopRequest:
    """Set by SIGTERM or SIGINT (or `request()`); a wait in progress ends at once.

    The signal handler only sets a flag and writes one byte to a pipe: nothing it does can
    interrupt a job mid-step, and nothing it does needs a lock (an `Event.set()` inside a
    handler can deadlock the very thread it interrupts).
    """

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self.requested = False

    def request(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        self.requested = True
        # A full pipe holds earlier requests: the wait wakes up anyway.
        with contextlib.suppress(BlockingIOError):
            os.write(self._write, b"x")

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds` unless a stop is requested; whether one was."""
        if not self.requested and seconds > 0:
            select.select([self._read], [], [], seconds)
        return self.requested

    def close(self) -> None:
        os.close(self._read)
        os.close(self._write)


class Worker:
    """Runs each job when it is due, one step at a time, until told to stop.

    `clock` (monotonic seconds) and `wait` are injected so tests can run hours in
    milliseconds; by default they are the real ones.
    """

    def __init__(
        self,
        app: Flask,
        jobs: Iterable[Job] = JOBS,
        *,
        stop: StopRequest | None = None,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        self.app = app
        self.jobs = tuple(jobs)
        settings = app.config["SETTINGS"]
        self.intervals = {job.name: getattr(settings, job.interval_setting) for job in self.jobs}
        self.stop = stop or StopRequest()
        self.clock = clock
        self.wait = wait or self.stop.wait
        self.identity = f"{socket.gethostname()}:{os.getpid()}"[:120]

    def run(self) -> None:
        """Every job at start, then each again `interval` seconds after its last start."""
        due = {job.name: self.clock() for job in self.jobs}
        log.info("worker started", extra={"jobs": self.intervals, "worker": self.identity})
        while not self.stop.requested:
            job = min(self.jobs, key=lambda j: due[j.name])
            delay = due[job.name] - self.clock()
            if delay > 0:
                if self.wait(delay):
                    break
                continue
            started = self.clock()
            self.run_once(job)
            due[job.name] = started + self.intervals[job.name]
        log.info("worker stopped", extra={"worker": self.identity})

    def run_once(self, job: Job) -> bool:
        """One run of `job` in its own app context, recorded; False when it failed."""
        with self.app.app_context():
            try:
                job_runs.record_start(job=job.name, worker=self.identity, now=utcnow())
                summary = job.run()
                job_runs.record_finish(
                    job=job.name, worker=self.identity, ok=True, summary=summary, now=utcnow()
                )
            except Exception as error:
                log.exception("job failed", extra={"job": job.name, "error": type(error).__name__})
                self._record_failure(job, type(error).__name__)
                return False
        log.info("job ran", extra={"job": job.name, "summary": summary})
        return True

    def _record_failure(self, job: Job, error: str) -> None:
        """Record the failure in a fresh transaction; if even that fails (the database is
        down), the log line above is the record."""
        try:
            rollback()
            job_runs.record_finish(
                job=job.name, worker=self.identity, ok=False, summary=error, now=utcnow()
            )
        except Exception as again:
            log.warning(
                "job run not recorded", extra={"job": job.name, "error": type(again).__name__}
            )


def run_worker(app: Flask) -> None:
    """The `worker` command: SIGTERM and SIGINT finish the step in hand, then exit 0."""
    stop = StopRequest()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop.request)
    try:
        Worker(app, stop=stop).run()
    finally:
        stop.close()
