"""Problem documents with members beyond RFC 9457's (a DomainError's `extra`) conform to the
problem schema the OpenAPI document publishes, which forbids members it does not list."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from werkzeug.test import TestResponse

import licensing
from tests.factories import Api, created, import_license, new_customer, problem


@pytest.fixture
def document(app: Flask) -> Any:
    return schemathesis.openapi.from_wsgi("/v1/openapi.json", app)


def conforms(document: Any, path: str, method: str, response: TestResponse) -> None:
    """schemathesis' own response check: status, content type and schema as documented."""
    document[path][method].validate_response(response)


def test_quote_state_problem_with_current_state_conforms(document: Any, admin: Api) -> None:
    customer = new_customer(admin)["id"]
    line = {"category": "design", "description": "A banner", "hours": 1}
    quote = created(admin.post("/v1/quotes", json={"customer_id": customer, "lines": [line]}))
    admin.post(f"/v1/quotes/{quote['id']}/cancel")
    response = admin.post(f"/v1/quotes/{quote['id']}/send")
    assert problem(response, 409, "QUOTE_STATE")["current_state"] == "cancelled"
    conforms(document, "/v1/quotes/{quote_id}/send", "POST", response)


def test_renewal_too_early_problem_with_earliest_renewal_at_conforms(
    document: Any, admin: Api
) -> None:
    customer = new_customer(admin)["id"]
    license = import_license(
        admin,
        customer_id=customer,
        purchased_at="2024-02-28T10:00:00Z",
        updates_until="2026-02-28T10:00:00Z",
    )
    response = admin.get(f"/v1/licenses/{license['key']}/renewal-quote?at=2024-06-01T00:00:00Z")
    assert problem(response, 409, "RENEWAL_TOO_EARLY")["earliest_renewal_at"]
    conforms(document, "/v1/licenses/{key}/renewal-quote", "GET", response)


def test_email_taken_problem_with_customer_id_conforms(document: Any, admin: Api) -> None:
    customer = new_customer(admin, email="taken@example.com")
    response = admin.post("/v1/customers", json={"email": "taken@example.com", "name": "Again"})
    assert problem(response, 409, "EMAIL_TAKEN")["customer_id"] == customer["id"]
    conforms(document, "/v1/customers", "POST", response)


ERRORS = {"DomainError", "NotFound", "Conflict", "Invalid", "PaymentFailed", "BadSignature"}


def _name(node: ast.expr) -> str | None:
    return node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)


def extra_members() -> set[str]:
    """Every member name a DomainError (or `problem`) is given as `extra` in the service:
    written out as a dict, or built up in a local dict passed as `extra=`."""
    names: set[str] = set()
    for source in Path(licensing.__file__).parent.rglob("*.py"):
        for function in ast.walk(ast.parse(source.read_text())):
            if not isinstance(function, ast.FunctionDef):
                continue
            passed: set[str] = set()
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and _name(node.func) in ERRORS | {"problem"}:
                    for keyword in node.keywords:
                        if keyword.arg != "extra":
                            continue
                        if isinstance(keyword.value, ast.Dict):
                            names |= {
                                key.value
                                for key in keyword.value.keys
                                if isinstance(key, ast.Constant)
                            }
                        elif isinstance(keyword.value, ast.Name):
                            passed.add(keyword.value.id)
            for node in ast.walk(function):
                if (
                    isinstance(node, ast.Subscript)
                    and isinstance(node.ctx, ast.Store)
                    and _name(node.value) in passed
                    and isinstance(node.slice, ast.Constant)
                ):
                    names.add(node.slice.value)
    return names


def test_every_extra_member_of_a_problem_is_documented(client: Any) -> None:
    problem_schema = client.get("/v1/openapi.json").get_json()["components"]["schemas"]["Problem"]
    assert extra_members() >= {"current_state", "earliest_renewal_at", "customer_id"}
    documented = problem_schema["properties"]
    assert extra_members() <= documented.keys()
    assert all(documented[name].get("description") for name in extra_members())
    assert problem_schema["additionalProperties"] is False
