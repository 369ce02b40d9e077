"""Real servers for end-to-end tests: localstripe on a free port, the service on another."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import stripe
from flask import Flask
from werkzeug.serving import make_server

from licensing.adapters.payments import StripeGateway
from scripts.cluster_procs import free_port, wait_for_port
from tests.conftest import TEST_SIGNING_KEY
from tests.fakes import WEBHOOK_SECRET

ROOT = Path(__file__).resolve().parents[2]
STRIPE_KEY = "sk_test_licensing"


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh localstripe (`--from-scratch`) on a free loopback port."""
    port = free_port()
    log = (tmp_path_factory.mktemp("localstripe") / "localstripe.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "scripts" / "local_stripe.py"),
            "--port",
            str(port),
            "--from-scratch",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture
def stripe_client(localstripe: str) -> stripe.StripeClient:
    """The Stripe SDK as a checkout page's server side would use it, against localstripe."""
    return stripe.StripeClient(STRIPE_KEY, base_addresses={"api": localstripe})


@contextmanager
def served(app: Flask) -> Iterator[str]:
    """The app on a real loopback port, in a thread, for as long as the block runs."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def service(app: Flask, localstripe: str) -> Iterator[str]:
    """The app served on a real port, paying through localstripe, its webhook registered there."""
    real = app.extensions["payments"]
    app.extensions["payments"] = StripeGateway(
        secret_key=STRIPE_KEY, webhook_secret=WEBHOOK_SECRET, api_base=localstripe
    )
    try:
        with served(app) as url:
            hook = {"url": f"{url}/v1/stripe/webhook", "secret": WEBHOOK_SECRET}
            form = urllib.parse.urlencode(hook).encode()
            register = urllib.request.Request(
                f"{localstripe}/_config/webhooks/licensing", data=form
            )
            with urllib.request.urlopen(register, timeout=10) as answer:
                assert answer.status == 200
            yield url
    finally:
        app.extensions["payments"] = real


def http(
    method: str,
    url: str,
    *,
    key: str | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """A real HTTP call to the served service; returns (status, parsed JSON)."""
    import json

    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if key:
        all_headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=body, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


KEY_LINE = re.compile(r"Admin API key \(shown once\):\s+(\S+)")


class MakeRun:
    """`make run` serving: the service's and the local Stripe's URLs, the printed admin key,
    and the folder of its logs (RUN_DIR: localstripe.log, worker.log)."""

    def __init__(self, api: str, stripe: str, key: str, run_dir: Path, smtp_port: int) -> None:
        self.api, self.stripe, self.key, self.run_dir = api, stripe, key, run_dir
        self.smtp_port = smtp_port


@pytest.fixture
def make_run_env() -> dict[str, str]:
    """Extra environment for `make run` (a test module overrides this fixture)."""
    return {}


@pytest.fixture
def make_run(tmp_path: Path, make_run_env: dict[str, str]) -> Iterator[MakeRun]:
    """`make run` for real (demo data, local Stripe from scratch, the worker, gunicorn) on
    free ports and a SQLite database of its own; everything it started stops with it."""
    port, stripe_port, smtp_port = free_port(), free_port(), free_port()
    log = (tmp_path / "make-run.log").open("w+")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'make-run.db'}",
        "LICENSING_ENV": "development",
        "LICENSE_SIGNING_KEY": TEST_SIGNING_KEY,  # not the repository's instance/ key
        **make_run_env,
    }
    process = subprocess.Popen(
        [
            "make",
            "--no-print-directory",
            "run",
            f"PORT={port}",
            f"STRIPE_PORT={stripe_port}",
            f"SMTP_PORT={smtp_port}",
            f"RUN_DIR={tmp_path}",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # make, gunicorn, the worker and the local Stripe stop together
    )
    try:
        wait_for_port(port, timeout=120)
        wait_for_port(stripe_port, timeout=30)
        key = _printed_key(log)
        api, stripe = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{stripe_port}"
        yield MakeRun(api, stripe, key, tmp_path, smtp_port)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def _printed_key(log: Any) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        log.seek(0)
        found = KEY_LINE.search(log.read())
        if found:
            return found.group(1)
        time.sleep(0.2)
    log.seek(0)
    raise AssertionError(f"make run printed no admin key:\n{log.read()}")


GUNICORN = Path(sys.executable).with_name("gunicorn")


@contextmanager
def gunicorn(folder: Path, env: dict[str, str], *options: str) -> Iterator[str]:
    """gunicorn as `make run` starts it (the service's config), on a free port, with its
    access log in `folder/access.log` and the rest in `folder/gunicorn.log`."""
    port = free_port()
    command = [str(GUNICORN), "-c", "python:licensing.gunicorn_config", "--bind"]
    command += [f"127.0.0.1:{port}", "--access-logfile", str(folder / "access.log"), *options]
    with (folder / "gunicorn.log").open("w") as log:
        server = subprocess.Popen(
            [*command, "wsgi:app"], cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=log
        )
    try:
        wait_for_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)
