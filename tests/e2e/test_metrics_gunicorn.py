"""`/metrics` under gunicorn with two workers: whichever worker answers the scrape, the
request counts are those of both (prometheus-client's multiprocess mode, as `make run`)."""

from __future__ import annotations

import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from licensing.clock import utcnow
from licensing.services.api_keys import create_api_key
from tests.conftest import dispose, migrate
from tests.e2e.conftest import gunicorn

HEALTHZ = {"method": "GET", "route": "/healthz", "status": "200"}


def get(url: str, key: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as answer:
        return answer.read().decode()


def healthz_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "licensing_http_requests_total" and sample.labels == HEALTHZ:
                return sample.value
    return 0.0


def test_request_counts_add_up_across_two_gunicorn_workers(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'metrics.db'}"
    app = migrate(database)
    with app.app_context():
        _, key = create_api_key(name="prometheus", scopes=["metrics"], now=utcnow())
    dispose(app)
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    (metrics_dir / "histogram_1.db").write_bytes(b"")  # a stale file of an earlier run
    env = {
        "DATABASE_URL": database,
        "LICENSING_ENV": "development",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    with gunicorn(tmp_path, env, "--workers", "2") as url:
        sent = 0
        with ThreadPoolExecutor(max_workers=8) as pool:
            # Until both workers have answered some (each worker's file appears on its first).
            while len(list(metrics_dir.glob("histogram_*.db"))) < 2 and sent < 2000:
                list(pool.map(lambda _: get(f"{url}/healthz"), range(50)))
                sent += 50
        workers = sorted(p.name for p in metrics_dir.glob("histogram_*.db"))
        assert len(workers) == 2, workers
        scrapes = [healthz_count(get(f"{url}/metrics", key)) for _ in range(6)]
    assert scrapes == [sent] * 6, (tmp_path / "gunicorn.log").read_text()
    print(f"\n{sent} requests over 2 workers ({', '.join(workers)}): every scrape says {sent}")
