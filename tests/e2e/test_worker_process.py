"""The worker as operators run it (`licensing worker`, a real process): SIGTERM in the middle
of a delivery lets the delivery finish and exits 0; two workers side by side send each notice
once; and under `make run` a notice comes due and reaches a subscriber with no command typed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from licensing.adapters.models import Delivery
from licensing.clock import utcnow
from licensing.extensions import db
from licensing.services import job_runs
from tests.e2e.conftest import MakeRun, free_port, http
from tests.factories import Api, created, import_license, new_customer
from tests.subscribers import SECRET, Receiver

ROOT = Path(__file__).resolve().parents[2]
LICENSING = Path(sys.executable).with_name("licensing")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def start_worker(app: Flask, log: Path, **intervals: str) -> subprocess.Popen[bytes]:
    """`licensing worker` on the test's database; Stripe is a closed local port (no order
    expires in these tests, and nothing may leave the machine)."""
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "LICENSING_ENV": "development",
        "STRIPE_API_BASE": f"http://127.0.0.1:{free_port()}",
        "WORKER_EVENTS_DELIVER_SECONDS": "0.2",
        **intervals,
    }
    with log.open("w") as out:
        return subprocess.Popen(
            [str(LICENSING), "worker"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def stop(worker: subprocess.Popen[bytes]) -> tuple[int, float]:
    """SIGTERM, then its exit status and how long it took to exit."""
    sent = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    status = worker.wait(timeout=30)
    return status, time.monotonic() - sent


def test_sigterm_lets_the_delivery_in_hand_finish_then_exits_0(
    app: Flask, admin: Api, tmp_path: Path
) -> None:
    slow = Receiver(delay=2.0)
    try:
        created(admin.post("/v1/subscribers", json={"url": slow.url, "secret": SECRET}))
        license = import_license(admin, customer_id=new_customer(admin)["id"])
        worker = start_worker(app, tmp_path / "worker.log")
        assert slow.first_arrived.wait(timeout=60), (tmp_path / "worker.log").read_text()
        status, took = stop(worker)  # while the subscriber is still answering
    finally:
        slow.close()
    log = (tmp_path / "worker.log").read_text()
    assert status == 0, log
    assert took < 30
    assert "worker stopped" in log
    assert [n["data"]["license_key"] for n in slow.bodies()] == [license["key"]]
    with app.app_context():
        delivery = db.session.execute(select(Delivery)).scalar_one()
        assert delivery.delivered_at is not None and delivery.attempts == 1  # finished, kept
        last = {run.job: run for run in job_runs.last_runs()}
    assert last["events-deliver"].outcome == "ok"
    print(f"\nworker exited {status} {took:.1f} s after SIGTERM, its delivery recorded")


def test_two_workers_side_by_side_deliver_each_notice_once(
    app: Flask, admin: Api, receiver: Receiver, tmp_path: Path
) -> None:
    """PostgreSQL: rows taken FOR UPDATE SKIP LOCKED. SQLite has one write lock: the workers
    take turns, and each notice still goes out once."""
    created(admin.post("/v1/subscribers", json={"url": receiver.url, "secret": SECRET}))
    workers = [start_worker(app, tmp_path / f"worker-{n}.log") for n in (1, 2)]
    customer = new_customer(admin)
    count = 40
    for _ in range(count):  # while both workers are already polling
        import_license(admin, customer_id=customer["id"])
    receiver.wait_for(count, timeout=90)
    time.sleep(1.0)  # room for a duplicate to show up
    statuses = [stop(worker)[0] for worker in workers]
    logs = [(tmp_path / f"worker-{n}.log").read_text() for n in (1, 2)]
    assert statuses == [0, 0], logs
    ids = [notice["id"] for notice in receiver.bodies()]
    assert len(ids) == count, logs
    assert len(set(ids)) == count  # no notice twice
    by_worker = [_delivered(log) for log in logs]
    assert sum(by_worker) == count
    print(f"\n{count} notices, delivered {by_worker[0]} + {by_worker[1]} by two workers, 0 twice")


def _delivered(log: str) -> int:
    """The deliveries one worker reports in its log lines."""
    total = 0
    for line in log.splitlines():
        if line.startswith("{") and '"job ran"' in line:
            entry = json.loads(line)
            if entry.get("job") == "events-deliver":
                total += int(entry["summary"].split()[1].rstrip(","))
    return total


@pytest.fixture
def make_run_env() -> dict[str, str]:
    # The notice schedule every 2 s instead of every minute, so the test waits seconds.
    return {"WORKER_EVENTS_SCHEDULE_SECONDS": "2", "WORKER_EVENTS_DELIVER_SECONDS": "1"}


def test_under_make_run_a_notice_comes_due_and_is_delivered_with_no_command(
    make_run: MakeRun, receiver: Receiver
) -> None:
    status, _ = http(
        "POST",
        f"{make_run.api}/v1/subscribers",
        key=make_run.key,
        body=json.dumps({"url": receiver.url, "secret": SECRET}).encode(),
    )
    assert status == 201
    status, customer = http(
        "POST",
        f"{make_run.api}/v1/customers",
        key=make_run.key,
        body=json.dumps({"email": "due@example.com", "name": "Due"}).encode(),
    )
    # Bought a year less ten days ago: its updates end in ten days, inside the 30-day notice.
    purchased = utcnow() - timedelta(days=355)
    body = {
        "customer_id": customer["id"],
        "edition": "pro",
        "domain": "due-soon.example.com",
        "purchased_at": purchased.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "channel": "direct",
    }
    status, license = http(
        "POST",
        f"{make_run.api}/v1/licenses/import",
        key=make_run.key,
        body=json.dumps(body).encode(),
    )
    assert status == 201
    mine = receiver.wait_for(2, timeout=60, about=license["key"])
    assert sorted(n["type"] for n in mine) == ["license.issued", "subscription.expiring"], (
        make_run.run_dir / "worker.log"
    ).read_text()
