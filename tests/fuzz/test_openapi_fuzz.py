"""Schemathesis against the service's own OpenAPI document, with every check it has.

Stateless: every operation gets generated requests, valid and invalid (examples, coverage
and fuzzing phases). Valid ones must be accepted (`positive_data_acceptance`: only rules no
schema can state may refuse one, see beyond_schema.py), invalid ones refused
(`negative_data_rejection`), and every answer must be no 5xx and match its documented
status, content type, headers and schema.

Stateful: scenarios follow the document's OpenAPI links (licensing/api/links.py): customer
-> purchase order -> Stripe's payment webhook -> license -> renewal quote, quotes through
their lifecycle, bans, partners, subscribers. The fake gateway stands in for Stripe; the
counting layer signs the payment webhooks (conftest.py).

Bounded here (FUZZ_EXAMPLES per operation, FUZZ_SCENARIOS); `make fuzz` runs many more and
prints the totals: requests, server errors, check failures.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis import Case, CheckContext, Response
from schemathesis.checks import CHECKS as REGISTRY
from schemathesis.checks import load_all_checks
from schemathesis.config._checks import (
    NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES,
    NegativeDataRejectionConfig,
)
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation.stateful.state_machine import (
    DEFAULT_STATE_MACHINE_SETTINGS as STATE_MACHINE,
)
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.factories import make_key
from tests.fuzz.beyond_schema import explain
from tests.fuzz.conftest import SIGN_HEADER, TALLY

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
SCENARIOS = int(os.environ.get("FUZZ_SCENARIOS", str(max(10, EXAMPLES // 4))))
STEPS = int(os.environ.get("FUZZ_STEPS", "12"))
WEBHOOK = ("POST", "/v1/stripe/webhook")
SETTINGS = {"deadline": None, "suppress_health_check": list(HealthCheck), "database": None}
STATEFUL = {"stateful_step_count": STEPS, "database": None}


def positive_data_acceptance_beyond_schema(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    """`positive_data_acceptance`, except for a 422 that only rules beyond the schema gave
    (each checked to apply to the request; see beyond_schema.py): those are tallied."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        rules = explain(case, response)
        if rules is None:
            raise
        TALLY.refusals.update(rules)
        return None


load_all_checks()
CHECKS = [
    *(check for check in REGISTRY.get_all() if check is not positive_data_acceptance),
    positive_data_acceptance_beyond_schema,
]
TALLY.checks = [check.__name__ for check in CHECKS]


def headers_for(case: Case) -> dict[str, str]:
    """A valid webhook is signed (by the counting layer) as Stripe signs it."""
    headers: dict[str, str] = {}
    positive = case.meta is None or case.meta.generation.mode.is_positive
    if (case.method.upper(), case.path) == WEBHOOK and positive:
        headers[SIGN_HEADER] = "sign"
    return headers


def step_name(case: Case, response: Response) -> str:
    """`<operation> <status>`, or what the answer says where the status alone does not."""
    name = f"{case.method.upper()} {case.path}"
    body = response.json() if response.status_code < 300 else {}
    if name == "POST /v1/stripe/webhook" and response.status_code == 200:
        return f"{name} {body.get('outcome')}"
    if name == "GET /v1/orders/{order_id}" and response.status_code == 200:
        return f"{name} {body.get('status')}"
    if name == "POST /v1/orders" and response.status_code == 201:
        return f"{name} {'' if body.get('kind') == 'purchase' else body.get('kind') + ' '}201"
    return f"{name} {response.status_code}"


def validated(case: Case, response: Any, headers: dict[str, str], **kwargs: Any) -> None:
    """Every check; the configured key is named to them as the CLI's `-H` would be."""
    headers = {**case.operation.schema.config.headers_for(operation=case.operation), **headers}
    try:
        case.validate_response(response, checks=CHECKS, headers=headers, **kwargs)
    except FailureGroup as failures:
        TALLY.check_failures.update(type(failure).__name__ for failure in failures.exceptions)
        raise
    except Failure as failure:
        TALLY.check_failures[type(failure).__name__] += 1
        raise


@pytest.fixture
def admin_key(app: Flask) -> str:
    return make_key(app, "admin")


@pytest.fixture
def api_schema(fuzz_app: Flask, admin_key: str) -> schemathesis.schemas.BaseSchema:
    """The published document; every request carries an admin key, as the CLI's `-H` does
    (so schemathesis knows it: `ignored_auth` sends without it and wants 401)."""
    document = schemathesis.openapi.from_wsgi("/v1/openapi.json", fuzz_app)
    document.config.update(headers={"Authorization": f"Bearer {admin_key}"})
    # A body over 64 KiB is refused before its fields are read (413): a refusal too.
    document.config.checks.negative_data_rejection = NegativeDataRejectionConfig(
        expected_statuses=[*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]
    )
    return document


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, **SETTINGS)
def test_no_input_breaks_the_api(case: Case) -> None:
    headers = headers_for(case)
    response = case.call(headers=headers)
    validated(case, response, headers, transport_kwargs={"headers": headers})


def test_scenarios_along_the_links(api_schema: Any) -> None:
    """Customer -> order -> payment -> license -> renewal quote, and the other links."""

    # Only the document's own links: the walk checks them, not what schemathesis would guess.
    api_schema.config.phases.stateful.inference.algorithms = []

    class Shop(api_schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Case) -> None:
            # Stripe stamps an event with the moment it happens: the payment is now.
            if (case.method.upper(), case.path) == WEBHOOK and isinstance(case.body, dict):
                case.body["created"] = int(time.time())

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"headers": headers_for(case)}

        def after_call(self, response: Response, case: Case) -> None:
            super().after_call(response, case)
            TALLY.steps[step_name(case, response)] += 1

        def validate_response(
            self, response: Response, case: Case, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            validated(
                case,
                response,
                kwargs.get("headers") or {},
                transport_kwargs=kwargs,
                recorder=self.recorder,
            )

        def teardown(self) -> None:
            TALLY.scenarios += 1

    # As schemathesis runs its own stateful phase: generation only (a scenario replayed on a
    # database it changed would not draw the same steps), and a run that Hypothesis stops
    # because the API's state made generation differ is started again for the rest.
    target = TALLY.scenarios + SCENARIOS
    for _ in range(100):
        remaining = target - TALLY.scenarios
        if remaining <= 0:
            break
        try:
            Shop.run(settings=settings(STATE_MACHINE, max_examples=remaining, **STATEFUL))
        except FlakyStrategyDefinition:
            TALLY.restarts += 1
