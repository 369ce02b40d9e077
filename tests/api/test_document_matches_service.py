"""The OpenAPI document says what the service enforces: each constraint schemathesis' negative
and positive checks found missing (or loose) is published, and the service agrees with it."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import marshmallow as ma
import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from licensing.api.fields import (
    CONTROL,
    DOMAIN_PATTERN,
    INSTANT_PATTERN,
    LOCAL_URL_PATTERN,
    URL_PATTERN,
    Instant,
    trimmed_text,
)
from licensing.domain.domains import normalize_domain
from tests.factories import Api, created, new_customer, ok, problem

PROPERTY = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    return client.get("/v1/openapi.json").get_json()


def component(document: dict[str, Any], name: str) -> dict[str, Any]:
    return document["components"]["schemas"][name]["properties"]


def parameter(document: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    operation = document["paths"][path][method]
    found = [p for p in operation.get("parameters", []) if p["name"] == name]
    found += [p for p in document["paths"][path].get("parameters", []) if p["name"] == name]
    return found[0]


def test_the_idempotency_key_is_printable_ascii_without_spaces(
    document: dict[str, Any], admin: Api
) -> None:
    header = parameter(document, "/v1/customers", "post", "Idempotency-Key")
    assert header["schema"]["pattern"] == "^[\\x21-\\x7e]{1,255}$"
    body = {"email": "key@example.com", "name": "Key"}
    refused = admin.post("/v1/customers", json=body, headers={"Idempotency-Key": "a b"})
    assert "Idempotency-Key" in problem(refused, 422, "VALIDATION_FAILED")["errors"]
    created(admin.post("/v1/customers", json=body, headers={"Idempotency-Key": "a~b!"}))


def test_quote_hours_are_positive_quarter_hours(document: dict[str, Any], admin: Api) -> None:
    hours = component(document, "Line")["hours"]
    assert (hours["exclusiveMinimum"], hours["multipleOf"], hours["maximum"]) == (0, 0.25, 500)
    customer = new_customer(admin)["id"]
    for bad in (0.0, 0.3, 500.25):
        line = {"category": "design", "description": "Banner", "hours": bad}
        answer = admin.post("/v1/quotes", json={"customer_id": customer, "lines": [line]})
        assert "lines.0.hours" in problem(answer, 422, "VALIDATION_FAILED")["errors"]


def test_domains_have_the_d3_pattern_wherever_a_domain_is_read(document: dict[str, Any]) -> None:
    for schema in ("PurchaseOrder", "PartnerSale", "ImportDirect", "Domain", "Validate"):
        assert component(document, schema)["domain"]["pattern"] == DOMAIN_PATTERN
    query = parameter(document, "/v1/entitlements", "get", "domain")
    assert query["schema"]["pattern"] == DOMAIN_PATTERN
    for refused_by_d3 in ("0", "localhost", "a.localhost", "1.2.3.4", "ab--cd.com", "x.0x1"):
        assert not re.fullmatch(DOMAIN_PATTERN, refused_by_d3)


@PROPERTY
@given(st.from_regex(DOMAIN_PATTERN, fullmatch=True).filter(lambda name: len(name) <= 253))
def test_every_domain_the_pattern_allows_d3_accepts(name: str) -> None:
    normalize_domain(name)


def calendar_date(text: str) -> bool:
    """What `format: date-time` adds to the pattern: the day exists in its month."""
    try:
        date(int(text[:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        return False
    return True


@PROPERTY
@given(st.from_regex(INSTANT_PATTERN, fullmatch=True).filter(calendar_date))
def test_every_instant_the_request_pattern_allows_is_read(text: str) -> None:
    Instant(request=True).deserialize(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-01t10:00:00Z",  # RFC 3339 allows it; the document's pattern does not
        "2026-01-01 10:00:00Z",
        "2026-01-01T10:00Z",
        "2026-12-31T23:59:60Z",
        "20260101T100000Z",
        "1969-12-31T23:59:59Z",
        "3000-01-01T00:00:00Z",
    ],
)
def test_instants_outside_the_request_pattern_are_refused(text: str) -> None:
    assert not re.fullmatch(INSTANT_PATTERN, text)
    with pytest.raises(ma.ValidationError):
        Instant(request=True).deserialize(text)


def test_an_instant_is_checked_as_written_and_answered_in_utc(admin: Api) -> None:
    """2999-12-31T23:00:00-05:00 is in the years 1970-2999 as written; it reads 3000 in UTC."""
    body = {"version": "7.1", "released_at": "2999-12-31T23:00:00-05:00"}
    assert created(admin.post("/v1/releases", json=body))["released_at"] == "3000-01-01T04:00:00Z"


@PROPERTY
@given(st.from_regex(URL_PATTERN, fullmatch=True).filter(lambda url: len(url) <= 2000))
def test_every_url_the_pattern_allows_is_a_url(url: str) -> None:
    ma.validate.URL(schemes={"http", "https"}, require_tld=True)(url)


@PROPERTY
@given(st.from_regex(LOCAL_URL_PATTERN, fullmatch=True).filter(lambda url: len(url) <= 2000))
def test_every_subscriber_url_the_pattern_allows_is_a_url(url: str) -> None:
    ma.validate.URL(schemes={"http", "https"}, require_tld=False)(url)


def test_text_is_counted_once_trimmed_as_the_pattern_says(
    document: dict[str, Any], admin: Api
) -> None:
    name = component(document, "Customer")["name"]
    assert name["pattern"] == trimmed_text(200, refused=CONTROL) and "maxLength" not in name
    for blank in ("\x1c", " \u3000 ", "\t", "x" * 201, "a\r\nb", "a\tb", "a\x85b"):
        assert not re.fullmatch(name["pattern"], blank)
        answer = admin.post("/v1/customers", json={"email": "blank@example.com", "name": blank})
        assert "name" in problem(answer, 422, "VALIDATION_FAILED")["errors"]
    padded = "\n" + "x" * 200 + " "  # 202 characters, 200 once trimmed
    assert re.fullmatch(name["pattern"], padded)
    answer = admin.post("/v1/customers", json={"email": "padded@example.com", "name": padded})
    assert created(answer)["name"] == "x" * 200


def test_editions_are_an_enum_and_orders_one_of_their_kinds(document: dict[str, Any]) -> None:
    assert component(document, "PurchaseOrder")["edition"]["enum"] == ["pro", "premium"]
    assert component(document, "PurchaseOrder")["kind"]["enum"] == ["purchase"]
    assert component(document, "RenewalOrder")["kind"]["enum"] == ["renewal"]
    assert component(document, "UpgradeOrder")["kind"]["enum"] == ["upgrade"]  # D19
    assert component(document, "UpgradeOrder")["edition"]["enum"] == ["pro", "premium"]
    body = document["paths"]["/v1/orders"]["post"]["requestBody"]["content"]["application/json"]
    assert [b["$ref"].rsplit("/", 1)[1] for b in body["schema"]["oneOf"]] == [
        "PurchaseOrder",
        "RenewalOrder",
        "UpgradeOrder",
    ]
    imports = document["paths"]["/v1/licenses/import"]["post"]["requestBody"]["content"]
    assert len(imports["application/json"]["schema"]["oneOf"]) == 2
    assert component(document, "ImportDirect")["partner_id"]["enum"] == [None]
    assert parameter(document, "/v1/editions/{code}", "put", "code")["schema"]["enum"] == [
        "pro",
        "premium",
    ]


def test_a_list_price_stripe_cannot_charge_is_refused_on_every_database(
    document: dict[str, Any], admin: Api
) -> None:
    """PostgreSQL's INTEGER column refused 10**12 as VALUE_OUT_OF_RANGE; SQLite stored it."""
    assert component(document, "ListPrice")["amount"]["maximum"] == 99_999_999
    body = {"price": {"amount": 100_000_000, "currency": "USD"}}
    answer = admin.put("/v1/editions/pro", json=body)
    assert "price.amount" in problem(answer, 422, "VALIDATION_FAILED")["errors"]
    body = {"price": {"amount": 99_999_999.0, "currency": "USD"}}  # 1.0 is JSON's integer 1
    assert ok(admin.put("/v1/editions/pro", json=body))["price"]["amount"] == 99_999_999


def test_text_with_nul_is_refused_on_every_database(admin: Api) -> None:
    """PostgreSQL cannot store U+0000 (it answered 422 VALUE_OUT_OF_RANGE), SQLite stored it."""
    answer = admin.post("/v1/customers", json={"email": "nul@example.com", "name": "A\x00B"})
    assert list(problem(answer, 422, "VALIDATION_FAILED")["errors"]) == ["name"]
    answer = admin.get("/v1/reports/renewals?from=2026-01&to=2026-01&edition=p%00")
    assert list(problem(answer, 422, "VALIDATION_FAILED")["errors"]) == ["edition"]


def test_free_text_in_the_document_excludes_nul(document: dict[str, Any]) -> None:
    assert component(document, "Ban")["note"]["pattern"] == "^[^\\u0000]*$"
    assert parameter(document, "/v1/releases", "get", "cursor")["schema"]["pattern"]


def test_ids_in_paths_stop_at_bigint_and_the_webhook_documents_its_signature(
    document: dict[str, Any],
) -> None:
    assert parameter(document, "/v1/orders/{order_id}", "get", "order_id")["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 2**63 - 1,
    }
    webhook = document["paths"]["/v1/stripe/webhook"]["post"]
    signature = parameter(document, "/v1/stripe/webhook", "post", "Stripe-Signature")
    assert signature["required"] and signature["schema"]["pattern"].startswith("^t=")
    event = webhook["requestBody"]["content"]["application/json"]["schema"]
    assert event["required"] == ["id", "type", "created", "data"]


@pytest.mark.usefixtures("gateway")
def test_a_work_order_without_an_edition_conforms(app: Flask, admin: Api) -> None:
    """An accepted quote's order (kind `work`) has no edition: `null`, as documented."""
    customer = new_customer(admin)["id"]
    line = {"category": "design", "description": "Banner", "hours": 2}
    quote = created(admin.post("/v1/quotes", json={"customer_id": customer, "lines": [line]}))
    ok(admin.post(f"/v1/quotes/{quote['id']}/send"))
    order_id = ok(admin.post(f"/v1/quotes/{quote['id']}/accept"))["order_id"]
    answer = admin.get(f"/v1/orders/{order_id}")
    assert ok(answer)["kind"] == "work" and answer.get_json()["edition"] is None
    document = schemathesis.openapi.from_wsgi("/v1/openapi.json", app)
    document["/v1/orders/{order_id}"]["GET"].validate_response(answer)


def test_a_renewal_rate_is_answered_as_the_decimal_text_documented(
    app: Flask, admin: Api, document: dict[str, Any]
) -> None:
    """D18: `rate` is "0.0000"-style text (or null), not the JSON number the document said."""
    customer = new_customer(admin)["id"]
    created(
        admin.post(
            "/v1/licenses/import",
            json={
                "customer_id": customer,
                "edition": "pro",
                "domain": "rate.example.com",
                "purchased_at": "2024-03-05T00:00:00Z",
                "channel": "direct",
            },
        )
    )  # its term ends 2025-03-05, never renewed
    answer = admin.get("/v1/reports/renewals?from=2025-03&to=2025-04")
    assert [row["rate"] for row in ok(answer)["renewal_rate"]] == ["0.0000", None]
    assert component(document, "RateRow")["rate"]["type"] == ["string", "null"]
    schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", app)
    schema["/v1/reports/renewals"]["GET"].validate_response(answer)


@pytest.mark.parametrize("department", ["warranty", "technical_support"])
def test_a_question_s_domain_and_version_are_checked_in_every_department(
    admin: Api, department: str
) -> None:
    """A warranty question reads neither; they were taken unchecked (200) there before."""
    customer = new_customer(admin)["id"]
    asked = f"/v1/entitlements?customer_id={customer}&department={department}&quote_id=1"
    assert (
        "domain" in problem(admin.get(f"{asked}&domain=e%C2%AC"), 422, "DOMAIN_INVALID")["errors"]
    )
    refused = problem(admin.get(f"{asked}&version=five"), 422, "VALIDATION_FAILED")
    assert list(refused["errors"]) == ["version"]
