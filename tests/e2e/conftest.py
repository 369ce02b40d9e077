"""Real servers for end-to-end tests: localstripe on a free port, the service on another."""

from __future__ import annotations

import subprocess
import sys
import threading
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
