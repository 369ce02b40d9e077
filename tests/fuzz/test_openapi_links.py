"""The document's OpenAPI links carry a client from a new customer to a renewal: each request
below is built from the previous answer by the published link alone (runtime expressions
`$response.body#/...`), and each answer conforms to the document. The stateful fuzzing run
walks the same links at random; this walks the purchase chain once, every time."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.factories import make_key
from tests.fakes import sign

EXPRESSION = re.compile(r"\{(\$response\.body#[^}]*)\}")


def resolve(expression: Any, answer: Any) -> Any:
    """A link value: `$response.body#/a/0/b`, a string with `{...}` inside, or a constant."""
    if isinstance(expression, dict):
        return {name: resolve(value, answer) for name, value in expression.items()}
    if not isinstance(expression, str):
        return expression
    if expression.startswith("$response.body#"):
        value = answer
        for token in filter(None, expression.split("#", 1)[1].split("/")):
            token = token.replace("~1", "/").replace("~0", "~")
            value = value[int(token)] if isinstance(value, list) else value[token]
        return value
    return EXPRESSION.sub(lambda match: str(resolve(match[1], answer)), expression)


class Walk:
    """Follows the document's links from one answer to the next request."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.client = client
        self.document = client.get("/v1/openapi.json").get_json()
        self.schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", app)
        self.key = make_key(app, "admin")

    def request(
        self, source: tuple[str, str], status: str, name: str, answer: Any
    ) -> tuple[str, str, str, Any]:
        """The operation a link leads to, its URL and its body, from the source's answer."""
        path, method = source
        link = self.document["paths"][path][method]["responses"][status]["links"][name]
        _, _, target, target_method = link["operationRef"].split("/")
        target = target.replace("~1", "/").replace("~0", "~")
        url, query = target, []
        for parameter, expression in (link.get("parameters") or {}).items():
            value = resolve(expression, answer)
            if f"{{{parameter}}}" in url:
                url = url.replace(f"{{{parameter}}}", str(value))
            else:
                query.append(f"{parameter}={value}")
        body = resolve(link["requestBody"], answer) if "requestBody" in link else None
        return target, target_method, url + ("?" + "&".join(query) if query else ""), body

    def send(
        self, target: str, method: str, url: str, body: Any = None, signed: bool = False
    ) -> TestResponse:
        """Sends it as a client does (an admin key; or, `signed`, as Stripe does) and checks
        the answer against the document."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        if signed:
            headers["Stripe-Signature"] = sign(data or b"")
        else:
            headers["Authorization"] = f"Bearer {self.key}"
        response = self.client.open(url, method=method.upper(), data=data, headers=headers)
        self.schema[target][method.upper()].validate_response(response)
        return response

    def follow(self, source: tuple[str, str], status: str, name: str, answer: Any) -> Any:
        response = self.send(*self.request(source, status, name, answer))
        return response.status_code, response.json


@pytest.mark.usefixtures("gateway")
def test_the_links_lead_from_a_customer_to_a_renewal(app: Flask, client: FlaskClient) -> None:
    walk = Walk(app, client)
    customer = {"email": "ada@example.com", "name": "Ada Lovelace"}
    customer = walk.send("/v1/customers", "post", "/v1/customers", customer).json

    status, order = walk.follow(("/v1/customers", "post"), "201", "BuyLicense", customer)
    assert status == 201 and order["kind"] == "purchase", order

    # Stripe's part: the link names the event; Stripe stamps it with the moment of payment
    # and signs its bytes with the endpoint secret.
    target, method, url, event = walk.request(("/v1/orders", "post"), "201", "PayOrder", order)
    assert (target, method, event["type"]) == (
        "/v1/stripe/webhook",
        "post",
        "payment_intent.succeeded",
    )
    paid = walk.send(target, method, url, {**event, "created": int(time.time())}, signed=True)
    assert paid.status_code == 200 and paid.json["outcome"] == "applied", paid.json

    status, shown = walk.follow(("/v1/orders", "post"), "201", "GetOrder", order)
    assert status == 200 and shown["status"] == "paid" and shown["license_key"], shown

    source = ("/v1/orders/{order_id}", "get")
    status, license = walk.follow(source, "200", "GetLicense", shown)
    assert status == 200 and license["key"] == shown["license_key"]
    status, quote = walk.follow(source, "200", "RenewalQuote", shown)
    assert status == 200 and quote["rate"] == "preferential", quote
    status, renewal = walk.follow(source, "200", "RenewLicense", shown)
    assert status == 201 and renewal["kind"] == "renewal", renewal
    assert renewal["price"] == quote["price"]


def test_every_link_names_an_operation_and_its_parameters(client: FlaskClient) -> None:
    document = client.get("/v1/openapi.json").get_json()
    links = [
        (path, method, status, name, link)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if method != "parameters"
        for status, response in operation["responses"].items()
        for name, link in (response.get("links") or {}).items()
    ]
    assert len(links) >= 40
    for path, method, status, name, link in links:
        _, _, target_path, target_method = link["operationRef"].split("/")
        target_path = target_path.replace("~1", "/").replace("~0", "~")
        target = document["paths"][target_path][target_method]
        declared = {p["name"] for p in target.get("parameters", [])}
        declared |= {p["name"] for p in document["paths"][target_path].get("parameters", [])}
        assert set(link.get("parameters") or {}) <= declared, (path, method, status, name)
        assert ("requestBody" in link) <= ("requestBody" in target), (path, method, status, name)
