"""A real SMTP server for tests (aiosmtpd on a free loopback port), keeping what it receives."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


@dataclass
class SmtpServer:
    """What the `smtp_server` fixture yields: where it listens and the messages it took.

    `refuse_with` (e.g. "451 4.3.0 try later") makes it answer every DATA with that reply
    instead, to test retries; set it back to None to accept again.
    """

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    refuse_with: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def received(self) -> list[EmailMessage]:
        with self._lock:
            return list(self.messages)

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        if self.server.refuse_with:
            return self.server.refuse_with
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.server._lock:
            self.server.messages.append(message)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Accounts:
    """aiosmtpd authenticator: one user and password (AUTH PLAIN or LOGIN)."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user.encode(), password.encode()

    def __call__(self, _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any):
        ok = (data.login, data.password) == (self.user, self.password)
        return AuthResult(success=ok, handled=False)  # the server answers 235 or 535


@contextmanager
def smtp_server_running(
    *, host: str = "127.0.0.1", credentials: tuple[str, str] | None = None
) -> Iterator[SmtpServer]:
    """Start aiosmtpd on `host` and a free port, asking for `credentials` (user, password)
    when given (AUTH over plain text: a test server); stop it when the block ends."""
    server = SmtpServer(host=host, port=_free_port())
    auth: dict[str, Any] = {}
    if credentials:
        auth = {
            "authenticator": _Accounts(*credentials),
            "auth_required": True,
            "auth_require_tls": False,
            "auth_exclude_mechanism": ["LOGIN"],  # PLAIN is enough, and answers at once
        }
    controller = Controller(_Handler(server), hostname=server.host, port=server.port, **auth)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
