"""gunicorn's settings for this service: `gunicorn -c python:licensing.gunicorn_config ...`.

Access lines leave out the query string (a signed link's token) and the referrer (a page's
address with its token); the path may hold a license key, so both of gunicorn's loggers
carry the service's redacting filter, as its own loggers do.
"""

from __future__ import annotations

import gc
import json
import os
from pathlib import Path
from typing import Any

from gunicorn import util
from gunicorn.glogging import Logger

from licensing.logs import install_redaction

# What gunicorn itself refuses, before the application sees the request.
_GUNICORN_DETAILS = {
    400: "The request line or its headers could not be read (malformed, or over the limits).",
    403: "The request came through a proxy this service does not trust.",
    431: "The request's header fields are too large.",
    501: "The request uses a method or transfer encoding this server does not implement.",
}
_CODES = {400: "BAD_REQUEST", 403: "FORBIDDEN", 431: "HEADERS_TOO_LARGE", 501: "NOT_IMPLEMENTED"}


class RedactingLogger(Logger):
    """gunicorn's logger with `RedactSecrets` on its error and access loggers."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        install_redaction(self.error_log)
        install_redaction(self.access_log)


def write_problem(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's own error answers as problem+json, like every other answer of the service.

    It replaces `gunicorn.util.write_error`, whose page is HTML; `mesg` is left out, since it
    echoes the request line (and with it whatever key the path held).
    """
    code = _CODES.get(status_int, "INTERNAL_ERROR")
    body = (
        json.dumps(
            {
                "type": f"/problems/{code.lower().replace('_', '-')}",
                "title": reason,
                "status": status_int,
                "detail": _GUNICORN_DETAILS.get(
                    status_int, "An unexpected error occurred; it has been logged."
                ),
                "code": code,
            },
            separators=(",", ":"),
        ).encode()
        + b"\n"
    )
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


util.write_error = write_problem  # gunicorn calls it as util.write_error at answer time
logger_class = RedactingLogger
# Client, time, method and path (no query string), status, bytes, duration, request id.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(D)sus %({x-request-id}o)s'


def on_starting(server: Any) -> None:
    """A fresh start forgets the metrics an earlier run left in PROMETHEUS_MULTIPROC_DIR
    (prometheus-client's multiprocess mode: the folder must be emptied between runs)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        for stale in Path(folder).glob("*.db"):
            stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    """A worker that exited stops counting in the live gauges (its counters stay summed)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker: Any) -> None:
    """The application is loaded: what it holds lives as long as the worker, so the garbage
    collector leaves it out of every later collection (`gc.freeze`). A full collection then
    walks only what requests made, not the whole loaded application."""
    gc.freeze()
