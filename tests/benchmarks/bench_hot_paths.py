"""Benchmark: `validate`, `certificate` and `entitlements` against the ceiling of the stack.

    make bench     (needs wrk: `apt-get install wrk`; PostgreSQL at TEST_DATABASE_URL)

For 1,000 and 1,000,000 licenses (BENCH_SIZES to change), in a schema of its own: migrate,
fill with the seeded demo generator, serve the app with gunicorn on 127.0.0.1 (WORKERS x
THREADS gthread), and drive it with wrk from a separate process at a fixed concurrency for a
fixed time: the ceiling (`GET /healthz`, no database), `POST /v1/licenses/validate` (rate
limit off, then on at a limit too high to trip, to show its cost), `POST
/v1/licenses/certificate` (D22: validate's lookup plus the newest release and an Ed25519
signature) and `GET /v1/entitlements`. First it times one certificate's signing alone.
Prints one table. It measures; it asserts nothing.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import timeit
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from licensing import create_app, demo_data  # noqa: E402
from licensing.adapters import signing  # noqa: E402
from licensing.adapters.models import License  # noqa: E402
from licensing.extensions import db  # noqa: E402
from licensing.services.api_keys import create_api_key  # noqa: E402
from licensing.settings import Settings  # noqa: E402

URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "1000,1000000").split(",")]
WORKERS, THREADS = (
    int(os.environ.get("BENCH_WORKERS", "3")),
    int(os.environ.get("BENCH_THREADS", "2")),
)
CONNECTIONS, DURATION = 16, "10s"
NOW = datetime(2026, 11, 26, tzinfo=UTC)
PORT = 8765

VALIDATE_LUA = """
local bodies = {BODIES}
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/v1/licenses/validate", {["Content-Type"] = "application/json"}, bodies[(n % #bodies) + 1])
end
"""
CERTIFICATE_LUA = VALIDATE_LUA.replace("/v1/licenses/validate", "/v1/licenses/certificate")
ENTITLEMENTS_LUA = """
local paths = {PATHS}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1], {["Authorization"] = "Bearer KEY"})
end
"""


def prepare(size: int) -> tuple[str, str, list[dict[str, str]], list[int]]:
    """A migrated schema with `size` licenses; a helpdesk key; sample keys and customers."""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with sa.create_engine(URL, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(URL).update_query_dict({"options": f"-csearch_path={schema}"})
    url_text = url.render_as_string(hide_password=False)
    app = create_app(Settings.from_env(signing_key_env()).replace(database_url=url_text))
    with app.app_context():
        upgrade()
        demo_data.generate(licenses=size, seed=3, now=NOW)
        db.session.commit()
        _, key = create_api_key(name="bench", scopes=["helpdesk"], now=NOW)
        rng = random.Random(5)
        ids = rng.sample(range(1, size + 1), min(size, 1000))
        sample = db.session.execute(
            sa.select(License.key, License.domain, License.customer_id).where(License.id.in_(ids))
        ).all()
        db.session.remove()
        db.engine.dispose()
    vacuum(url_text)
    licenses = [{"key": k, "domain": d} for k, d, _ in sample]
    return schema, url_text, licenses, [c for _, _, c in sample] + [key]  # type: ignore[list-item]


def signing_key_env() -> dict[str, str]:
    """A throw-away certificate signing key, so that the benchmark leaves instance/ alone."""
    path = Path(tempfile.gettempdir()) / f"bench-signing-key-{os.getpid()}.pem"
    if not path.exists():
        signing.write_new_private_key(path)
    return {"LICENSE_SIGNING_KEY": f"@{path}"}


def signing_time() -> str:
    """D22: one certificate's Ed25519 signature through PyJWT, alone (no HTTP, no database)."""
    key = signing.load_private_key(Path(signing_key_env()["LICENSE_SIGNING_KEY"][1:]).read_text())
    signer = signing.Ed25519Signer(key)
    claims = {
        "iss": "licensing",
        "sub": "Z8W9B-B157H-93QAA-K9W3Y-77GQC",
        "domain": "shop.example.com",
        "edition": "premium",
        "status": "active",
        "support_until": "2026-02-14T10:00:00Z",
        "updates_until": "2027-01-15T10:00:00Z",
        "newest_allowed_release": "5.2.1",
        "iat": 1795931898,
        "exp": 1798523898,
    }
    runs = 5000
    jwt_each = min(timeit.repeat(lambda: signer.sign(claims), number=runs, repeat=5)) / runs
    raw_each = min(timeit.repeat(lambda: key.sign(b"x" * 300), number=runs, repeat=5)) / runs
    return (
        f"signing one certificate (PyJWT encode, Ed25519): {jwt_each * 1e6:.0f} us; "
        f"the raw Ed25519 signature alone: {raw_each * 1e6:.0f} us (best of 5 x {runs})"
    )


def vacuum(url: str) -> None:
    """VACUUM ANALYZE after the bulk load, so autovacuum is not working during the runs."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("VACUUM (ANALYZE)"))
    engine.dispose()


def serve(url: str, rate_limit: str) -> subprocess.Popen[bytes]:
    # As in production: the metrics of every worker in files, summed by /metrics.
    metrics_dir = tempfile.mkdtemp(prefix="licensing-bench-metrics-")
    env = {
        **os.environ,
        **signing_key_env(),
        "DATABASE_URL": url,
        "VALIDATE_RATE_LIMIT": rate_limit,
        "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
    }
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "-c",
        "python:licensing.gunicorn_config",
        "--bind",
        f"127.0.0.1:{PORT}",
        "--workers",
        str(WORKERS),
        "--threads",
        str(THREADS),
        "--worker-class",
        "gthread",
        "--log-level",
        "warning",
        "wsgi:app",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    return answering(process, f"http://127.0.0.1:{PORT}/readyz", "gunicorn")


def answering(process: subprocess.Popen[bytes], url: str, what: str) -> subprocess.Popen[bytes]:
    """`process`, once `url` answers (30 s at most; else it is killed)."""
    for _ in range(150):
        try:
            with urllib.request.urlopen(url, timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{what} did not start")


def wrk(path: str, script: str | None = None) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        if script:
            lua.write(script)
            command += ["-s", lua.name]
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{PORT}{path}"], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])
    p50 = _ms(re.search(r"50%\s+([\d.]+\w+)", output)[1])
    p99 = _ms(re.search(r"99%\s+([\d.]+\w+)", output)[1])
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*?(\d+), write (\d+), timeout (\d+)", output)
    count = int(bad[1]) if bad else 0
    count += sum(int(n) for n in errors.groups()) if errors else 0
    return {"rps": rps, "p50": p50, "p99": p99, "errors": count}


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def lua_list(items: list[str]) -> str:
    return "{" + ", ".join(json.dumps(item) for item in items) + "}"


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    print(signing_time(), flush=True)
    results = []
    for size in SIZES:
        started = time.perf_counter()
        schema, url, licenses, extra = prepare(size)
        key, customers = extra[-1], extra[:-1]
        print(f"{size:,} licenses ready in {time.perf_counter() - started:.0f} s", flush=True)
        bodies = lua_list([json.dumps(lic) for lic in licenses])
        paths = lua_list(
            [
                f"/v1/entitlements?customer_id={c}&department=technical_support&domain={lic['domain']}"
                for c, lic in zip(customers, licenses, strict=True)
            ]
        )
        try:
            for rate_limit in ("off", "100000000/minute"):
                server = serve(url, rate_limit)
                try:
                    runs = [("validate", VALIDATE_LUA.replace("{BODIES}", bodies))]
                    if rate_limit == "off":
                        runs = [
                            ("healthz (ceiling)", None),
                            *runs,
                            ("certificate", CERTIFICATE_LUA.replace("{BODIES}", bodies)),
                            (
                                "entitlements",
                                ENTITLEMENTS_LUA.replace("{PATHS}", paths).replace("KEY", key),
                            ),
                        ]
                    for name, script in runs:
                        label = name if rate_limit == "off" else f"{name}, rate limit on"
                        path = "/healthz" if script is None else "/"
                        results.append((label, size, wrk(path, script)))
                        print(f"  {label}: {results[-1][2]}", flush=True)
                finally:
                    server.terminate()
                    server.wait(timeout=30)
        finally:
            with sa.create_engine(URL, isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    print_table(results)


def print_table(results: list[tuple[str, int, dict[str, float]]]) -> None:
    ceilings = {size: r["rps"] for name, size, r in results if name.startswith("healthz")}
    print(
        f"\ngunicorn {WORKERS} workers x {THREADS} threads (gthread); wrk 1 thread, {CONNECTIONS} connections, {DURATION}; {os.cpu_count()} cores"
    )
    print(
        f"{'endpoint':<32} {'licenses':>10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'x ceiling':>10}"
    )
    for name, size, r in results:
        ratio = r["rps"] / ceilings[size] if ceilings.get(size) else float("nan")
        print(
            f"{name:<32} {size:>10,} {r['rps']:>9.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['errors']:>7.0f} {ratio:>10.2f}"
        )


if __name__ == "__main__":
    main()
