"""A subscriber's endpoint for tests: a real local HTTP server that records each notice."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECRET = "subscriber-secret-0123456789"


class Receiver:
    """Answers the statuses it is told to (then 200), each after `delay` seconds, and records
    what arrives (headers and body)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.statuses: list[int] = []
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.first_arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.first_arrived.set()
                time.sleep(delay)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.received.append((dict(self.headers), body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/licensing"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]

    def wait_for(self, count: int, timeout: float, about: str | None = None) -> list[dict]:
        """The notices received (about one license key, if given), once `count` are here or
        `timeout` seconds have passed."""
        deadline = time.monotonic() + timeout
        while True:
            notices = [n for n in self.bodies() if about in (None, n["data"].get("license_key"))]
            if len(notices) >= count or time.monotonic() > deadline:
                return notices
            time.sleep(0.1)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
