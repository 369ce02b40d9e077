"""The worker's loop on an injected clock: each job on its own interval, a failing job logged
and retried without stopping the others, each run recorded in `job_runs`."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from licensing.jobs import JOBS, Job
from licensing.services import job_runs
from licensing.worker import StopRequest, Worker


class FakeTime:
    """Monotonic seconds that move only when the worker waits; stops it past `until`."""

    def __init__(self, until: float) -> None:
        self.now = 0.0
        self.until = until

    def clock(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.now += seconds
        return self.now > self.until


def recording(name: str, setting: str, runs: dict[str, list[float]], time: FakeTime) -> Job:
    def run() -> str:
        runs.setdefault(name, []).append(time.now)
        return f"{name} did nothing"

    return Job(name, setting, run)


def test_each_job_runs_at_start_then_on_its_own_interval(app: Flask) -> None:
    time = FakeTime(until=130)
    runs: dict[str, list[float]] = {}
    jobs = [recording(job.name, job.interval_setting, runs, time) for job in JOBS]
    Worker(app, jobs, clock=time.clock, wait=time.wait).run()
    assert runs["orders-expire"] == [0, 60, 120]
    assert runs["events-schedule"] == [0, 60, 120]
    assert runs["events-deliver"] == [5.0 * n for n in range(27)]  # 0, 5, ..., 130
    assert runs["emails-deliver"] == [5.0 * n for n in range(27)]
    assert runs["idempotency-purge"] == [0]
    with app.app_context():
        last = {run.job: run for run in job_runs.last_runs()}
    assert set(last) == {job.name for job in JOBS}
    assert all(run.outcome == "ok" and run.finished_at for run in last.values())
    assert last["events-deliver"].summary == "events-deliver did nothing"


def test_the_contract_default_intervals_and_a_setting_changes_one(app: Flask) -> None:
    assert Worker(app).intervals == {
        "orders-expire": 60,
        "events-schedule": 60,
        "events-deliver": 5,
        "emails-deliver": 5,
        "idempotency-purge": 3600,
    }
    faster = Flask("other")
    faster.config["SETTINGS"] = app.config["SETTINGS"].replace(worker_events_deliver_seconds=0.5)
    assert Worker(faster).intervals["events-deliver"] == 0.5


def test_a_job_that_raises_is_logged_recorded_and_retried_on_its_next_interval(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    time = FakeTime(until=7)
    calls: list[float] = []

    def flaky() -> str:
        calls.append(time.now)
        if len(calls) <= 2:
            raise RuntimeError("the subscriber said no")
        return "delivered 1"

    runs: dict[str, list[float]] = {}
    jobs = [
        Job("flaky", "worker_events_deliver_seconds", flaky),
        recording("steady", "worker_orders_expire_seconds", runs, time),
    ]
    with caplog.at_level(logging.INFO, logger="licensing.worker"):
        Worker(app, jobs, clock=time.clock, wait=time.wait).run()
    assert calls == [0, 5] and runs["steady"] == [0]  # the worker went on after each failure
    failures = [r for r in caplog.records if r.getMessage() == "job failed"]
    assert [(r.job, r.error) for r in failures] == [("flaky", "RuntimeError")] * 2  # type: ignore[attr-defined]
    with app.app_context():
        last = {run.job: run for run in job_runs.last_runs()}
    assert (last["flaky"].outcome, last["flaky"].summary) == ("failed", "RuntimeError")
    assert last["flaky"].last_ok_at is None

    time.now, time.until = 100.0, 101.0  # the next interval: the same job runs again
    Worker(app, jobs, clock=time.clock, wait=time.wait).run()
    with app.app_context():
        last = {run.job: run for run in job_runs.last_runs()}
    assert (last["flaky"].outcome, last["flaky"].summary) == ("ok", "delivered 1")
    assert last["flaky"].last_ok_at == last["flaky"].finished_at


def test_the_real_jobs_each_run_once_and_are_recorded(app: Flask, gateway: object) -> None:
    worker = Worker(app)
    assert all(worker.run_once(job) for job in JOBS)
    with app.app_context():
        last = {run.job: run for run in job_runs.last_runs()}
    assert last["orders-expire"].summary == "expired 0 order(s)"
    assert last["events-schedule"].summary == "produced 0 notice(s)"
    assert last["events-deliver"].summary.startswith("delivered 0, failed 0")
    assert last["idempotency-purge"].summary == "purged 0 key(s)"


def test_a_stop_request_ends_a_wait_at_once() -> None:
    stop = StopRequest()
    try:
        assert stop.wait(0.01) is False
        stop.request()
        assert stop.wait(3600) is True  # returns at once, not in an hour
    finally:
        stop.close()
