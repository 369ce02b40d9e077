"""Soak: a steady mixed load on gunicorn over PostgreSQL for 30 minutes, minute by minute.

    make soak      (PostgreSQL at TEST_DATABASE_URL; SOAK_MINUTES, SOAK_RATE to change)

In a schema of its own: migrate, add 20,000 demo licenses, start a local Stripe (from
scratch) and gunicorn (2 workers x 2 threads, the service's gunicorn configuration), then
send SOAK_RATE operations per second from paced threads: `validate` (50%), `entitlements`
(30%), and a purchase order followed by its signed `payment_intent.succeeded` webhook
(20%, built and signed as Stripe does). Every minute it prints the requests, the errors
(5xx or no answer; expected 4xx are not errors), the p50 and p99 latency, and the resident
memory of the gunicorn workers. At the end: whether worker RSS grew more than 10% after the
first five minutes. It measures and reports; it is not part of `make test`.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from licensing import create_app, demo_data  # noqa: E402
from licensing.adapters.models import License  # noqa: E402
from licensing.extensions import db  # noqa: E402
from licensing.services.api_keys import create_api_key  # noqa: E402
from licensing.settings import Settings  # noqa: E402

URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MINUTES = float(os.environ.get("SOAK_MINUTES", "30"))
RATE = float(os.environ.get("SOAK_RATE", "40"))  # operations per second
THREADS = 6
LICENSES = 20_000
WEBHOOK_SECRET = "whsec_soak"
STRIPE_KEY = "sk_test_soak"
GUNICORN_CONFIG = ROOT / "licensing" / "gunicorn_config.py"
LOG = Path(os.environ.get("SOAK_LOG", "/tmp/licensing-soak.log"))  # the service's own log lines


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, path: str = "/", timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answers on 127.0.0.1:{port}")


@dataclass
class Minute:
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class Recorder:
    def __init__(self, started: float) -> None:
        self.started = started
        self.minutes: dict[int, Minute] = defaultdict(Minute)
        self.lock = threading.Lock()
        self.error_samples: list[str] = []

    def record(self, kind: str, status: int | None, seconds: float) -> None:
        minute = int((time.monotonic() - self.started) // 60)
        with self.lock:
            bucket = self.minutes[minute]
            bucket.requests += 1
            bucket.by_kind[kind] += 1
            bucket.latencies.append(seconds)
            if status is None or status >= 500:
                bucket.errors += 1
                if len(self.error_samples) < 20:
                    self.error_samples.append(f"{kind}: {status}")


class Client:
    """One keep-alive connection per thread; a dropped connection is reopened."""

    def __init__(self, port: int, recorder: Recorder) -> None:
        self.port, self.recorder = port, recorder
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, kind: str, method: str, path: str, body: object = None, **headers: str):
        data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body else None)
        all_headers = {"Content-Type": "application/json", **headers}
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=all_headers)
            response = self.conn.getresponse()
            payload = response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            status, payload = None, b""
        self.recorder.record(kind, status, time.perf_counter() - started)
        return status, payload


def sign(body: bytes) -> str:
    stamp = int(time.time())
    digest = hmac.new(WEBHOOK_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    return f"t={stamp},v1={digest.hexdigest()}"


class Workload:
    def __init__(self, port: int, keys: dict[str, str], sample: list[tuple], customers: list[int]):
        self.port, self.keys, self.sample, self.customers = port, keys, sample, customers
        self.counter = 0
        self.lock = threading.Lock()

    def next_domain(self) -> str:
        with self.lock:
            self.counter += 1
            return f"soak-{self.counter}-{uuid.uuid4().hex[:6]}.example.com"

    def validate(self, client: Client, rng: random.Random) -> None:
        key, domain, _ = rng.choice(self.sample)
        client.call("validate", "POST", "/v1/licenses/validate", {"key": key, "domain": domain})

    def entitlements(self, client: Client, rng: random.Random) -> None:
        _, domain, customer = rng.choice(self.sample)
        path = (
            f"/v1/entitlements?customer_id={customer}&department=technical_support&domain={domain}"
        )
        client.call("entitlements", "GET", path, Authorization=f"Bearer {self.keys['helpdesk']}")

    def purchase(self, client: Client, rng: random.Random) -> None:
        body = {
            "kind": "purchase",
            "customer_id": rng.choice(self.customers),
            "edition": rng.choice(["pro", "premium"]),
            "domain": self.next_domain(),
        }
        status, payload = client.call(
            "order", "POST", "/v1/orders", body, Authorization=f"Bearer {self.keys['checkout']}"
        )
        if status != 201:
            return
        order = json.loads(payload)
        intent_id = order["payment"]["payment_intent_id"]
        event = {
            "id": f"evt_soak_{uuid.uuid4().hex}",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": int(time.time()),
            "data": {
                "object": {
                    "id": intent_id,
                    "object": "payment_intent",
                    "status": "succeeded",
                    "amount_received": order["price"]["amount"],
                    "latest_charge": f"ch_{uuid.uuid4().hex[:12]}",
                }
            },
        }
        raw = json.dumps(event).encode()
        client.call("webhook", "POST", "/v1/stripe/webhook", raw, **{"Stripe-Signature": sign(raw)})

    def run(self, recorder: Recorder, stop: threading.Event, seed: int) -> None:
        rng = random.Random(seed)
        client = Client(self.port, recorder)
        interval = THREADS / RATE
        next_at = time.monotonic() + rng.random() * interval
        while not stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0:
                stop.wait(delay)
            next_at += interval
            roll = rng.random()
            if roll < 0.5:
                self.validate(client, rng)
            elif roll < 0.8:
                self.entitlements(client, rng)
            else:
                self.purchase(client, rng)


def prepare() -> tuple[str, str, dict[str, str], list[tuple], list[int]]:
    schema = f"soak_{uuid.uuid4().hex[:8]}"
    with sa.create_engine(URL, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(URL).update_query_dict({"options": f"-csearch_path={schema}"})
    url_text = url.render_as_string(hide_password=False)
    app = create_app(Settings.from_env({}).replace(database_url=url_text))
    now = datetime.now(UTC)
    with app.app_context():
        upgrade()
        demo_data.generate(licenses=LICENSES, seed=11, now=now)
        keys = {
            scope: create_api_key(name=f"soak-{scope}", scopes=[scope], now=now)[1]
            for scope in ("checkout", "helpdesk")
        }
        rows = db.session.execute(
            sa.select(License.key, License.domain, License.customer_id).limit(2000)
        ).all()
        db.session.remove()
        db.engine.dispose()
    sample = [tuple(row) for row in rows]
    return schema, url_text, keys, sample, sorted({row[2] for row in sample})


def worker_rss_mib(master: int) -> list[float]:
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return []
    sizes = []
    for pid in children:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
    return sizes


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    schema, url, keys, sample, customers = prepare()
    stripe_port, port = free_port(), free_port()
    stripe = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "scripts" / "local_stripe.py"),
            "--port",
            str(stripe_port),
            "--from-scratch",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "STRIPE_API_BASE": f"http://127.0.0.1:{stripe_port}",
        "STRIPE_SECRET_KEY": STRIPE_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "VALIDATE_RATE_LIMIT": "off",
        "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="licensing-soak-metrics-"),
    }
    config = ["-c", "python:licensing.gunicorn_config"] if GUNICORN_CONFIG.exists() else []
    gunicorn = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            *config,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "2",
            "--worker-class",
            "gthread",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stderr=LOG.open("w"),
    )
    # SIGTERM (or ^C) still stops gunicorn and the local Stripe and drops the schema.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    try:
        wait_for(stripe_port)
        wait_for(port, "/readyz")
        return soak(port, gunicorn.pid, keys, sample, customers)
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        stripe.terminate()
        gunicorn.wait(timeout=30)
        stripe.wait(timeout=30)
        with sa.create_engine(URL, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


def soak(port: int, master: int, keys, sample, customers) -> int:
    started = time.monotonic()
    recorder = Recorder(started)
    workload = Workload(port, keys, sample, customers)
    stop = threading.Event()
    threads = [
        threading.Thread(target=workload.run, args=(recorder, stop, n), daemon=True)
        for n in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    rss: dict[int, list[float]] = {}
    print(f"service log: {LOG}")
    print(f"soak: {MINUTES:g} min at {RATE:g} operations/s, {THREADS} threads, port {port}")
    print("| minute | requests | errors | p50 ms | p99 ms | worker RSS MiB (each) |")
    print("| ---: | ---: | ---: | ---: | ---: | --- |")
    total_minutes = int(MINUTES) if MINUTES >= 1 else 1
    for minute in range(total_minutes):
        stop.wait(max(0.0, started + (minute + 1) * min(60, MINUTES * 60) - time.monotonic()))
        rss[minute] = worker_rss_mib(master)
        bucket = recorder.minutes[minute]
        print(
            f"| {minute + 1} | {bucket.requests} | {bucket.errors} | "
            f"{percentile(bucket.latencies, 0.5) * 1000:.1f} | "
            f"{percentile(bucket.latencies, 0.99) * 1000:.1f} | "
            f"{', '.join(f'{size:.1f}' for size in rss[minute])} |",
            flush=True,
        )
    stop.set()
    for thread in threads:
        thread.join(timeout=35)
    requests = sum(m.requests for m in recorder.minutes.values())
    errors = sum(m.errors for m in recorder.minutes.values())
    kinds: dict[str, int] = defaultdict(int)
    for bucket in recorder.minutes.values():
        for kind, count in bucket.by_kind.items():
            kinds[kind] += count
    print(f"total: {requests} requests ({dict(kinds)}), {errors} errors")
    if recorder.error_samples:
        print("first errors:", recorder.error_samples)
    baseline_minute = min(4, total_minutes - 1)
    baseline, last = sum(rss[baseline_minute]), sum(rss[total_minutes - 1])
    growth = (last - baseline) / baseline * 100 if baseline else 0.0
    verdict = "within" if growth <= 10 else "OVER"
    print(
        f"worker RSS after minute {baseline_minute + 1}: {baseline:.1f} MiB, at the end: "
        f"{last:.1f} MiB, growth {growth:+.1f}% ({verdict} the 10% bound)"
    )
    return 0 if errors == 0 and growth <= 10 else 1


if __name__ == "__main__":
    raise SystemExit(main())
