"""The slow paths of the goal table, on a seeded schema: the two reports (through the real
app, as bench_reports.py times them) and one notice-scheduling pass (`licensing events
schedule`: the notices due over every license, written), each `runs` times after a warm-up
(the pass: its notices, their emails and deliveries deleted, and those tables vacuumed,
before each run, so each run writes them all into the same state)."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from licensing import create_app
from licensing.extensions import db
from licensing.services import notice_schedule
from licensing.services.api_keys import create_api_key
from licensing.settings import Settings
from tests.benchmarks.bench_reports import NOW, REPORTS


def measure(url: str, runs: int) -> dict[str, list[float]]:
    app = create_app(Settings.from_env({}).replace(database_url=url, validate_rate_limit="off"))
    out: dict[str, list[float]] = {}
    with app.app_context():
        _, key = create_api_key(name="bench-finance", scopes=["finance"], now=NOW)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    for name, path in REPORTS:
        assert client.get(path, headers=headers).status_code == 200  # warm-up
        out[name] = [_timed(lambda p=path: client.get(p, headers=headers)) for _ in range(runs)]
        print(f"  {name}: {out[name]}", flush=True)
    name = "worker: one notice-scheduling pass"
    out[name] = []
    for _ in range(runs):
        with app.app_context():
            db.session.execute(sa.text("DELETE FROM deliveries"))
            db.session.execute(sa.text("DELETE FROM emails"))  # each notice's email (D25)
            db.session.execute(sa.text("DELETE FROM notices"))
            db.session.commit()
            vacuum_outbox()  # each run starts as the first: no dead rows left by the last
            started = time.perf_counter()
            produced = notice_schedule.schedule(now=NOW)
            out[name].append(time.perf_counter() - started)
        print(f"  {name}: {produced} notices in {out[name][-1]:.2f} s", flush=True)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return out


def vacuum_outbox() -> None:
    """VACUUM the tables a run empties and fills again (it cannot run in a transaction)."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM (ANALYZE) deliveries, emails, notices"))


def _timed(call) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    assert call().status_code == 200
    return time.perf_counter() - started


if __name__ == "__main__":
    figures = measure(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3)
    for figure, times in figures.items():
        print(f"{figure}: median {statistics.median(times):.3f} s over {len(times)} runs")
