"""Instructions per request of `/healthz` and each hot path, counted by valgrind's callgrind.

    make bench-instructions     (valgrind, installed when missing; PostgreSQL at TEST_DATABASE_URL)

`make bench`'s ratios move by several hundredths from one run to the next on two shared
cores, so a change worth 3 % cannot be told from the noise there. An instruction count does
not depend on what else the machine is doing: with the hash seed fixed, the same code,
schema and requests count the same instructions from run to run, to within 0.01 %
(PERFORMANCE.md, round seven).

There is no server and no load: in one process the app is called as WSGI, the way gunicorn
calls it, for each path's request (validate, certificate and entitlements cycling through a
sample of licenses, as in `make bench`). The data is a schema of its own with a small demo
data set: each statement is an index lookup, so the table's size does not change the count,
but the data's values do (schemas made the same way at different times counted up to 0.5 %
apart: compare counts made on one schema). Each path runs under callgrind twice, after the same
warm-up: with no measured request, and with BENCH_REQUESTS of them; the difference, divided
by BENCH_REQUESTS, is what one request costs. Only the app's process is counted, and only its
instructions in user space: the kernel's work for its system calls, the time it waits for
PostgreSQL, PostgreSQL's own work and gunicorn's are not in it. It measures; it asserts
nothing.
"""

from __future__ import annotations

import gc
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from werkzeug.test import EnvironBuilder

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

PATHS = ("healthz", "validate", "certificate", "entitlements")
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "300"))
WARMUP = 50  # each statement prepared, each lazy import done, before the counted requests
LICENSES = 2000
_COLLECTED = re.compile(r"Collected : (\d+)")


def wsgi_environ(
    method: str, path: str, query: str = "", body: bytes = b"", **headers: str
) -> dict:
    """A WSGI environ for one request from 127.0.0.1, as werkzeug's test client builds it."""
    return EnvironBuilder(
        path=path,
        method=method,
        query_string=query,
        data=body,
        content_type="application/json" if body else None,
        headers=headers,
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    ).get_environ()


def environs_of(path: str, sample: dict[str, Any], count: int) -> list[dict]:
    """`count` environs of `path`, cycling through the sample's licenses and customers."""
    licenses, customers, key = sample["licenses"], sample["customers"], sample["key"]
    made = []
    for n in range(count):
        shop = licenses[n % len(licenses)]
        if path == "healthz":
            made.append(wsgi_environ("GET", "/healthz"))
        elif path == "entitlements":
            query = (
                f"customer_id={customers[n % len(customers)]}&department=technical_support"
                f"&domain={shop['domain']}"
            )
            made.append(
                wsgi_environ("GET", "/v1/entitlements", query, Authorization=f"Bearer {key}")
            )
        else:
            body = json.dumps(shop).encode()
            made.append(wsgi_environ("POST", f"/v1/licenses/{path}", body=body))
    return made


def serve_requests(path: str, count: int, sample_file: str) -> None:
    """The process callgrind counts: the app, WARMUP requests, then `count` more. Every run
    builds the same requests (as many as the longest run serves), so that building them is
    not counted as serving them."""
    from licensing import create_app
    from licensing.settings import Settings

    sample = json.loads(Path(sample_file).read_text())
    settings = Settings.from_env(os.environ)  # with the signing key `instructions` passes
    app = create_app(settings.replace(database_url=sample["url"], validate_rate_limit="off"))
    gc.freeze()  # as gunicorn_config's post_worker_init does in each worker
    answered: dict[str, int] = {}

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        answered[status] = answered.get(status, 0) + 1

    built = environs_of(path, sample, WARMUP + REQUESTS)
    for env in built[: WARMUP + count]:
        body = app(env, start_response)
        b"".join(body)
        getattr(body, "close", lambda: None)()
    if set(answered) != {"200 OK"}:  # a count of error answers would measure the wrong thing
        sys.exit(f"{path}: answers {answered}")


def instructions(path: str, count: int, sample_file: str) -> int:
    """The instructions callgrind counted in a process that served `count` requests."""
    from tests.benchmarks.bench_hot_paths import signing_key_env

    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={folder}/callgrind.out",
                sys.executable,
                __file__,
                "--serve",
                path,
                str(count),
                sample_file,
            ],
            capture_output=True,
            text=True,
            check=False,
            # One throw-away signing key for every process, and one hash seed: with Python's
            # random one, dictionaries and sets would take a different number of probes.
            env={**os.environ, **signing_key_env(), "PYTHONHASHSEED": "0"},
        )
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        sys.exit(f"{path}: callgrind failed\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is needed: apt-get install valgrind")
    if REQUESTS < 1:
        sys.exit("BENCH_REQUESTS must be 1 or more")
    from tests.benchmarks.bench_hot_paths import URL, prepare

    schema, url, licenses, extra = prepare(LICENSES)
    try:
        sample = {"url": url, "licenses": licenses, "customers": extra[:-1], "key": extra[-1]}
        with tempfile.NamedTemporaryFile("w", suffix=".json") as sample_file:
            sample_file.write(json.dumps(sample))
            sample_file.flush()
            print(f"callgrind, {REQUESTS} requests each, {LICENSES:,} licenses, one process")
            print(f"{'path':<13} {'instructions a request':>24} {'x /healthz':>11}")
            counted = {}
            for path in PATHS:
                none = instructions(path, 0, sample_file.name)
                some = instructions(path, REQUESTS, sample_file.name)
                counted[path] = (some - none) / REQUESTS
                times = counted[path] / counted["healthz"]
                print(f"{path:<13} {counted[path]:>24,.0f} {times:>11.2f}", flush=True)
    finally:
        with sa.create_engine(URL, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve_requests(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        main()
