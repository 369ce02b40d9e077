"""Fuzzing wiring: the app with the fake payment gateway behind a WSGI layer that counts every
request and answer and plays Stripe's part (it signs the webhooks a test marks, over the very
bytes it delivers, with the endpoint secret), and the totals printed at the end of the run."""

from __future__ import annotations

import io
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask

from tests.fakes import FakeGateway, sign

# A request carrying this header is a webhook the layer signs as Stripe would (the header
# itself never reaches the service).
SIGN_HEADER = "X-Fuzz-Stripe"
# The stateful walk the links make possible, step by step (counted as "<operation> <status>").
CHAIN = (
    "POST /v1/customers 201",
    "POST /v1/orders 201",
    "POST /v1/stripe/webhook applied",
    "GET /v1/orders/{order_id} paid",
    "GET /v1/licenses/{key} 200",
    "GET /v1/licenses/{key}/renewal-quote 200",
    "POST /v1/orders renewal 201",
)


@dataclass
class Tally:
    """What the fuzzing tests sent and what came back, over the whole pytest run."""

    requests: int = 0
    server_errors: int = 0
    check_failures: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)  # by rule beyond the schema
    checks: list[str] = field(default_factory=list)
    steps: Counter[str] = field(default_factory=Counter)  # stateful: "<operation> <status>"
    scenarios: int = 0
    restarts: int = 0  # stateful runs begun again after Hypothesis' FlakyStrategyDefinition
    first: float | None = None
    last: float | None = None


TALLY = Tally()


class CountingStripe:
    """WSGI middleware: counts requests and 5xx answers, and signs marked webhooks."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        TALLY.requests += 1
        TALLY.first = TALLY.first or time.monotonic()
        TALLY.last = time.monotonic()
        if environ.pop(f"HTTP_{SIGN_HEADER.upper().replace('-', '_')}", None) == "sign":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["HTTP_STRIPE_SIGNATURE"] = sign(body)

        def counted(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if int(status.split()[0]) >= 500:
                TALLY.server_errors += 1
            return start_response(status, headers, exc_info)

        return self.app(environ, counted)


@pytest.fixture
def fuzz_app(app: Flask, gateway: FakeGateway) -> Iterator[Flask]:
    """The test app with the fake gateway, behind the counting layer for one test; the
    access log (a line per request, tested elsewhere) is quiet meanwhile."""
    served, access = app.wsgi_app, logging.getLogger("licensing.access")
    app.wsgi_app = CountingStripe(served)  # type: ignore[method-assign]
    level, access.level = access.level, logging.WARNING
    yield app
    app.wsgi_app, access.level = served, level  # type: ignore[method-assign]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """`make fuzz` sets FUZZ_MIN_REQUESTS: a run that sent fewer has not fuzzed enough."""
    least = int(os.environ.get("FUZZ_MIN_REQUESTS") or 0)
    if TALLY.requests and TALLY.requests < least and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TALLY.requests:
        return
    least = int(os.environ.get("FUZZ_MIN_REQUESTS") or 0)
    if TALLY.requests < least:
        terminalreporter.write_line(
            f"fuzz: only {TALLY.requests} requests, fewer than FUZZ_MIN_REQUESTS={least}",
            red=True,
        )
    seconds = (TALLY.last or 0) - (TALLY.first or 0)
    write = terminalreporter.write_line
    write(
        f"fuzz: {TALLY.requests} requests in {seconds:.0f} s, "
        f"{TALLY.server_errors} server errors (5xx), "
        f"{sum(TALLY.check_failures.values())} check failures",
        red=bool(TALLY.server_errors or TALLY.check_failures),
        green=not (TALLY.server_errors or TALLY.check_failures),
    )
    for check, count in TALLY.check_failures.most_common():
        write(f"fuzz:   failed {check}: {count}", red=True)
    write(f"fuzz: checks: {', '.join(TALLY.checks)}")
    if os.environ.get("FUZZ_DEBUG"):
        write(f"fuzz: stateful steps: {sorted(TALLY.steps.items())}")
    if TALLY.steps:
        chain = ", ".join(f"{step} x{TALLY.steps[step]}" for step in CHAIN)
        write(
            f"fuzz: stateful: {TALLY.scenarios} scenarios ({TALLY.restarts} restarts), "
            f"{sum(TALLY.steps.values())} steps; along the chain: {chain}"
        )
    refused = sum(TALLY.refusals.values())
    write(f"fuzz: valid requests refused by a rule the document cannot state: {refused}")
    for rule, count in TALLY.refusals.most_common():
        write(f"fuzz:   {rule}: {count}")
