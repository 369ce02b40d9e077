"""gunicorn as `make run` starts it, with its access log on: no line of any log it writes holds a
license key, a signed link's token, a client secret or an API key (issue 14).

The service runs for real (gunicorn with `licensing.gunicorn_config`, one gthread worker) on
a free port over a freshly migrated SQLite file; each request carries a secret where a
client would put it: the key in the path, the token in the query string and the referrer,
the API key in `Authorization`. The access log, the error log and the service's own JSON
lines on standard error are then read back whole.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from licensing.clock import utcnow
from licensing.logs import REDACTED
from licensing.services.api_keys import create_api_key
from tests.conftest import TEST_SIGNING_KEY, dispose, migrate
from tests.e2e.conftest import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
CONFIG = ["-c", "python:licensing.gunicorn_config"]  # as in the Makefile's `run`


@dataclass
class Served:
    """The running gunicorn, its admin key, the folder of its logs, the requests it was sent."""

    process: subprocess.Popen[bytes]
    url: str
    admin_key: str
    logs: Path
    requests: int = 0

    def call(
        self, method: str, path: str, *, body: object = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """One request with the admin key (unless `headers` bring another Authorization)."""
        data = json.dumps(body).encode() if body is not None else None
        sent = {"Authorization": f"Bearer {self.admin_key}", "Content-Type": "application/json"}
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers=sent | (headers or {})
        )
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def json(self, method: str, path: str, body: object = None) -> dict[str, object]:
        status, answer = self.call(method, path, body=body)
        assert status in (200, 201), (method, path, status, answer)
        return json.loads(answer)

    def stop(self) -> dict[str, str]:
        """Stop gunicorn (its logs are complete once it has exited) and read every log."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        names = ("access.log", "error.log", "stdout.log", "stderr.log")
        return {name: (self.logs / name).read_text() for name in names}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    database = f"sqlite:///{tmp_path / 'licensing.db'}"
    app = migrate(database)
    with app.app_context():
        _, admin_key = create_api_key(name="logs", scopes=["admin"], now=utcnow())
    dispose(app)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "LICENSING_ENV": "development",
        "LICENSE_SIGNING_KEY": TEST_SIGNING_KEY,  # not the repository's instance/ key
    }
    command = [
        str(GUNICORN),
        *CONFIG,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--threads",
        "2",
        "--access-logfile",
        str(tmp_path / "access.log"),
        "--error-logfile",
        str(tmp_path / "error.log"),
        "wsgi:app",
    ]
    with (tmp_path / "stdout.log").open("w") as out, (tmp_path / "stderr.log").open("w") as err:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err)
        served = Served(process, f"http://127.0.0.1:{port}", admin_key, tmp_path)
        try:
            wait_for_port(port, timeout=30)
            yield served
        finally:
            served.stop()


def _token(url: object) -> str:
    return str(url).split("token=", 1)[1]


def _license(served: Served) -> tuple[dict[str, object], str]:
    customer = served.json("POST", "/v1/customers", {"email": "q@example.com", "name": "Q"})
    license = served.json(
        "POST",
        "/v1/licenses/import",
        {
            "customer_id": customer["id"],
            "edition": "pro",
            "domain": "quiet.example.com",
            "purchased_at": "2026-01-15T10:00:00Z",
            "channel": "direct",
        },
    )
    return customer, str(license["key"])


def test_gunicorn_and_service_logs_hold_no_key_token_or_secret(served: Served) -> None:
    customer, key = _license(served)
    served.json("GET", f"/v1/licenses/{key}")
    served.json("GET", f"/v1/licenses/{key.replace('-', '').lower()}")
    served.json("GET", f"/v1/licenses/{key}/renewal-quote")
    served.json("PUT", f"/v1/licenses/{key}/domain", {"domain": "moved.example.com"})
    line = {"category": "design", "description": "x", "hours": 1}
    quote = served.json("POST", "/v1/quotes", {"customer_id": customer["id"], "lines": [line]})
    quote_link = str(served.json("POST", f"/v1/quotes/{quote['id']}/link")["url"])
    report_link = str(
        served.json("POST", "/v1/reports/renewals/link?from=2026-01&to=2026-03")["url"]
    )
    assert served.call("GET", f"/quotes/{quote['id']}?token={_token(quote_link)}")[0] == 200
    report_page = f"/reports/renewals?token={_token(report_link)}"
    assert served.call("GET", report_page, headers={"Referer": quote_link})[0] == 200
    client_secret = "pi_3Nq8c2Kx_secret_Yt7uV9wQ"
    unmatched = f"/nope/{key}?client_secret={client_secret}&token={_token(quote_link)}"
    assert served.call("GET", unmatched)[0] == 404
    wrong_key = served.admin_key[:-8] + "wrongkey"
    refused = served.call("GET", "/v1/editions", headers={"Authorization": f"Bearer {wrong_key}"})
    assert refused[0] == 401

    logs = served.stop()
    secrets = [
        key,
        key.replace("-", "").lower(),
        _token(quote_link),
        _token(report_link),
        client_secret,
        served.admin_key.split("_", 2)[2],
        wrong_key.split("_", 2)[2],
    ]
    for name, text in logs.items():
        for secret in secrets:
            assert secret not in text, (name, secret)
    access = logs["access.log"].splitlines()
    assert len(access) == served.requests
    assert sum(f'"GET /v1/licenses/{REDACTED}' in line for line in access) == 3
    assert any(f'"GET /quotes/{quote["id"]}" 200' in line for line in access)
    service = [json.loads(line) for line in logs["stderr.log"].splitlines() if line.startswith("{")]
    assert len([e for e in service if e["logger"] == "licensing.access"]) == served.requests
    assert "Booting worker" in logs["error.log"]


def _raw(served: Served, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """Send bytes gunicorn itself must refuse; the status line, headers and body it answers."""
    import socket

    host, port = served.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (x.split(":", 1) for x in lines)}
    return status, headers, body


def test_gunicorns_own_refusals_are_problem_json_without_the_request_line(served: Served) -> None:
    """Over-long request lines and header fields never reach Flask: gunicorn answers them, and
    its HTML page (which echoed the request line) is replaced by a problem document."""
    _, key = _license(served)
    # Over the 4,094-byte limit, yet read whole by gunicorn (no reset before its answer).
    long_line = f"GET /v1/licenses/{key}?{'x' * 5000} HTTP/1.1\r\nHost: a\r\n\r\n".encode()
    many_headers = b"GET /healthz HTTP/1.1\r\nHost: a\r\n" + b"X-A: b\r\n" * 200 + b"\r\n"
    for request, status in ((long_line, 400), (many_headers, 431)):
        status_line, headers, body = _raw(served, request)
        assert status_line.startswith(f"HTTP/1.1 {status} "), status_line
        assert headers["content-type"] == "application/problem+json"
        problem = json.loads(body)
        assert problem["status"] == status and problem["code"] and problem["detail"]
        assert key.encode() not in body and b"<html" not in body
