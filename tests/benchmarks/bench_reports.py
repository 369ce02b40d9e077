"""Benchmark: the renewal and revenue reports over N licenses on PostgreSQL (default 1,000,000).

    make bench                        (or: .venv/bin/python tests/benchmarks/bench_reports.py)
    BENCH_LICENSES=100000 make bench  (a smaller run)

Creates its own schema in TEST_DATABASE_URL (default: the local PostgreSQL), migrates it,
fills it with the seeded demo generator, then times `GET /v1/reports/renewals` and
`GET /v1/reports/revenue` for a two-year period through the real app, 5 runs each after one
warm-up, and prints median and p95.
Not part of `make test`: it measures, it asserts nothing.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from flask.testing import FlaskClient
from flask_migrate import upgrade

from licensing import create_app, demo_data
from licensing.extensions import db
from licensing.services.api_keys import create_api_key
from licensing.settings import Settings

URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
LICENSES = int(os.environ.get("BENCH_LICENSES", "1000000"))
RUNS = 5
NOW = datetime(2026, 11, 26, tzinfo=UTC)


REPORTS = (
    ("renewal report", "/v1/reports/renewals?from=2025-01&to=2026-12&at=2026-11-26T00:00:00Z"),
    ("revenue report", "/v1/reports/revenue?from=2025-01&to=2026-12"),
)


def _time(client: FlaskClient, headers: dict[str, str], name: str, path: str) -> None:
    assert client.get(path, headers=headers).status_code == 200  # warm-up
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200
    p95 = statistics.quantiles(times, n=20, method="inclusive")[-1]
    print(
        f"{name}, {LICENSES:,} licenses, 24 months, PostgreSQL: "
        f"median {statistics.median(times):.3f} s, p95 {p95:.3f} s over {RUNS} runs",
        flush=True,
    )


def main() -> None:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(URL).update_query_dict({"options": f"-csearch_path={schema}"})
    settings = Settings.from_env({}).replace(
        database_url=url.render_as_string(hide_password=False), validate_rate_limit="off"
    )
    app = create_app(settings)
    try:
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            summary = demo_data.generate(licenses=LICENSES, seed=1, now=NOW)
            print(f"generated {summary} in {time.perf_counter() - started:.0f} s", flush=True)
            db.session.commit()
            _, key = create_api_key(name="bench", scopes=["finance"], now=NOW)
        vacuum = sa.create_engine(settings.database_url, isolation_level="AUTOCOMMIT")
        with vacuum.connect() as conn:
            conn.execute(sa.text("VACUUM (ANALYZE)"))  # not autovacuum during the runs
        vacuum.dispose()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {key}"}
        for name, path in REPORTS:
            _time(client, headers, name, path)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
