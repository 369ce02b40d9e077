"""License routes: import, partner sale, reading, listing and rebinding (R2, R3, D3-D6)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing.converters import NumberConverter

from licensing.adapters.models import License
from licensing.extensions import db
from tests.factories import (
    Api,
    created,
    import_license,
    make_key,
    new_customer,
    new_partner,
    ok,
    problem,
)
from tests.fakes import intent, signed, stripe_event


def test_r2_import_registers_license_to_customer_with_real_dates(admin: Api) -> None:
    customer = new_customer(admin)
    license = import_license(
        admin,
        customer_id=customer["id"],
        domain="https://WWW.Shop.Example.com:8080/path?q=1",
        purchased_at="2024-02-29T12:30:00Z",
    )
    assert license["customer_id"] == customer["id"]
    assert license["domain"] == "shop.example.com"  # D3
    assert license["channel"] == "direct" and license["partner_id"] is None
    assert license["status"] == "active"
    assert license["purchased_at"] == "2024-02-29T12:30:00Z"
    assert license["support_until"] == "2024-03-30T12:30:00Z"  # R4: 30 days
    assert license["updates_until"] == "2025-02-28T12:30:00Z"  # R17, D14: 29 Feb -> 28 Feb
    assert license["preferential_renewal_until"] == "2025-03-28T12:30:00Z"  # R18, D14
    assert [e["type"] for e in license["history"]] == ["issued", "domain_bound"]
    assert license["history"][0]["actor"].startswith("api_key:")
    assert ok(admin.get(f"/v1/licenses/{license['key']}")) == license


def test_import_keeps_given_updates_until(admin: Api) -> None:
    customer = new_customer(admin)
    license = import_license(
        admin,
        customer_id=customer["id"],
        purchased_at="2023-05-01T00:00:00Z",
        updates_until="2026-05-01T00:00:00Z",
    )
    assert license["updates_until"] == "2026-05-01T00:00:00Z"
    bad = admin.post(
        "/v1/licenses/import",
        json={
            "customer_id": customer["id"],
            "edition": "pro",
            "domain": "early.example.com",
            "purchased_at": "2023-05-01T00:00:00Z",
            "updates_until": "2023-04-01T00:00:00Z",
            "channel": "direct",
        },
    )
    assert "updates_until" in problem(bad, 422, "VALIDATION_FAILED")["errors"]


@time_machine.travel("2026-11-26T10:00:00Z", tick=False)
def test_import_rejects_future_purchase_and_unknown_references(admin: Api) -> None:
    customer = new_customer(admin)
    base = {
        "customer_id": customer["id"],
        "edition": "pro",
        "domain": "x.example.com",
        "purchased_at": "2026-11-26T10:00:01Z",
        "channel": "direct",
    }
    cases = [
        (base, "purchased_at", "VALIDATION_FAILED"),
        (
            {**base, "purchased_at": "2026-01-01T00:00:00Z", "customer_id": 999999},
            "customer_id",
            "CUSTOMER_NOT_FOUND",
        ),
        (
            {**base, "purchased_at": "2026-01-01T00:00:00Z", "edition": "gold"},
            "edition",
            "EDITION_NOT_FOUND",
        ),
        (
            {**base, "purchased_at": "2026-01-01T00:00:00Z", "channel": "partner"},
            "partner_id",
            "VALIDATION_FAILED",
        ),
        (
            {**base, "purchased_at": "2026-01-01T00:00:00Z", "partner_id": 1},
            "partner_id",
            "VALIDATION_FAILED",
        ),
        (
            {
                **base,
                "purchased_at": "2026-01-01T00:00:00Z",
                "channel": "partner",
                "partner_id": 424242,
            },
            "partner_id",
            "PARTNER_NOT_FOUND",
        ),
    ]
    for body, field, code in cases:
        answer = problem(admin.post("/v1/licenses/import", json=body), 422, code)
        assert field in answer["errors"], (body, answer)
    assert ok(admin.get(f"/v1/customers/{customer['id']}/licenses"))["items"] == []


def test_d3_invalid_domain_is_422_domain_invalid_naming_the_field(admin: Api) -> None:
    customer = new_customer(admin)
    for domain in ("localhost", "127.0.0.1", "[::1]", "exa mple.com", "a" * 64 + ".com", ""):
        body = {
            "customer_id": customer["id"],
            "edition": "pro",
            "domain": domain,
            "purchased_at": "2026-01-01T00:00:00Z",
            "channel": "direct",
        }
        response = admin.post("/v1/licenses/import", json=body)
        code = "VALIDATION_FAILED" if domain == "" else "DOMAIN_INVALID"
        assert "domain" in problem(response, 422, code)["errors"], domain


def test_d4_one_live_license_per_domain_whatever_the_edition(admin: Api) -> None:
    customer = new_customer(admin)
    import_license(admin, customer_id=customer["id"], domain="taken.example.com", edition="pro")
    other = new_customer(admin)
    response = admin.post(
        "/v1/licenses/import",
        json={
            "customer_id": other["id"],
            "edition": "premium",
            "domain": "WWW.TAKEN.example.com.",
            "purchased_at": "2026-01-01T00:00:00Z",
            "channel": "direct",
        },
    )
    problem(response, 409, "DOMAIN_TAKEN")
    assert ok(admin.get(f"/v1/customers/{other['id']}/licenses"))["items"] == []


def test_d5_rebind_moves_domain_keeps_dates_and_records_history(app, client, admin: Api) -> None:
    customer = new_customer(admin)
    license = import_license(admin, customer_id=customer["id"], domain="old.example.com")
    checkout = Api(client, make_key(app, "checkout"))
    moved = ok(
        checkout.put(f"/v1/licenses/{license['key']}/domain", json={"domain": "New.Example.com"})
    )
    assert moved["domain"] == "new.example.com"
    for field in ("purchased_at", "support_until", "updates_until", "preferential_renewal_until"):
        assert moved[field] == license[field]
    events = [(e["type"], e["data"].get("domain")) for e in moved["history"]]
    assert events[-2:] == [
        ("domain_unbound", "old.example.com"),
        ("domain_bound", "new.example.com"),
    ]
    # The old domain is free again (D4), the new one is taken.
    import_license(admin, customer_id=customer["id"], domain="old.example.com")
    problem(
        checkout.put(f"/v1/licenses/{license['key']}/domain", json={"domain": "old.example.com"}),
        409,
        "DOMAIN_TAKEN",
    )
    # Rebinding to the domain it already has changes nothing.
    same = ok(
        checkout.put(f"/v1/licenses/{license['key']}/domain", json={"domain": "new.example.com"})
    )
    assert same["history"] == moved["history"]


def test_rebind_unknown_key_is_404(admin: Api) -> None:
    response = admin.put("/v1/licenses/NOPE/domain", json={"domain": "a.example.com"})
    problem(response, 404, "LICENSE_NOT_FOUND")


def test_r3_partner_sale_is_partner_channel_and_partner_sees_only_its_own(
    app, client, admin: Api
) -> None:
    partner = new_partner(admin, support_url="https://partner.example/help")
    rival = new_partner(admin)
    partner_api = Api(client, make_key(app, f"partner:{partner['id']}"))
    customer = new_customer(partner_api)  # D26: a partner sells to the customers it created
    sold = created(
        partner_api.post(
            f"/v1/partners/{partner['id']}/licenses",
            json={"customer_id": customer["id"], "edition": "premium", "domain": "p.example.com"},
        )
    )
    assert sold["channel"] == "partner" and sold["partner_id"] == partner["id"]
    assert sold["edition"] == "premium"
    direct = import_license(admin, customer_id=customer["id"])
    # A partner reads its own license, not the vendor's direct sale nor another partner's.
    assert ok(partner_api.get(f"/v1/licenses/{sold['key']}"))["key"] == sold["key"]
    problem(partner_api.get(f"/v1/licenses/{direct['key']}"), 404, "LICENSE_NOT_FOUND")
    listed = ok(partner_api.get(f"/v1/customers/{customer['id']}/licenses"))["items"]
    assert [item["key"] for item in listed] == [sold["key"]]
    # A partner cannot sell in another partner's name.
    response = partner_api.post(
        f"/v1/partners/{rival['id']}/licenses",
        json={"customer_id": customer["id"], "edition": "pro", "domain": "q.example.com"},
    )
    problem(response, 403, "FORBIDDEN")


def test_customer_licenses_are_paginated(admin: Api) -> None:
    customer = new_customer(admin)
    keys = [import_license(admin, customer_id=customer["id"])["key"] for _ in range(3)]
    first = ok(admin.get(f"/v1/customers/{customer['id']}/licenses?limit=2"))
    second = ok(
        admin.get(f"/v1/customers/{customer['id']}/licenses?limit=2&cursor={first['next_cursor']}")
    )
    assert [item["key"] for item in first["items"] + second["items"]] == keys
    assert second["next_cursor"] is None
    assert "history" not in first["items"][0]
    problem(admin.get("/v1/customers/999999/licenses"), 404, "CUSTOMER_NOT_FOUND")


@pytest.mark.parametrize("limit", ["0", "501", "x", "-1"])
def test_limit_out_of_range_is_422(admin: Api, limit: str) -> None:
    customer = new_customer(admin)
    response = admin.get(f"/v1/customers/{customer['id']}/licenses?limit={limit}")
    assert "limit" in problem(response, 422, "VALIDATION_FAILED")["errors"]


def test_license_key_lookup_forgives_typing(admin: Api) -> None:
    customer = new_customer(admin)
    key = import_license(admin, customer_id=customer["id"])["key"]
    typed = key.lower().replace("-", "").replace("0", "o")
    assert ok(admin.get(f"/v1/licenses/{typed}"))["key"] == key


LICENSE_ROUTE = re.compile(r"^/v1/licenses(/|$)")


def path_arguments(rule: str) -> list[tuple[str, str, str]]:
    """`/v1/licenses/<string:key>/domain` -> [("licenses", "string", "key")]: each path
    variable with its converter and the segment naming the resource it addresses."""
    segments = rule.strip("/").split("/")
    found = []
    for n, segment in enumerate(segments):
        if segment.startswith("<"):
            converter, _, name = segment.strip("<>").rpartition(":")
            found.append((segments[n - 1] if n else "", converter or "default", name))
    return found


def test_d6_no_route_addresses_a_license_by_its_database_id(app: Flask) -> None:
    """D6: a license is addressed by its key, under /v1/licenses/{key} only; no route of any
    other resource takes a license id, and no license route takes a number."""
    by_key = set()
    for rule in app.url_map.iter_rules():
        for resource, converter, name in path_arguments(rule.rule):
            assert "license" not in name, rule.rule  # no <id:license_id> anywhere
            if resource == "licenses":
                assert name == "key", rule.rule
                assert not issubclass(app.url_map.converters[converter], NumberConverter), rule
                by_key.add(re.sub(r"<(?:[^:>]*:)?(\w+)>", r"{\1}", rule.rule))
        if LICENSE_ROUTE.match(rule.rule):
            assert set(rule.arguments) <= {"key"}, rule.rule
    assert by_key >= {
        "/v1/licenses/{key}",
        "/v1/licenses/{key}/domain",
        "/v1/licenses/{key}/renewal-quote",
    }


def parameters(path_item: dict[str, Any]) -> list[dict[str, Any]]:
    """An OpenAPI path's parameters: those of the path and those of each operation."""
    operations = [o for o in path_item.values() if isinstance(o, dict)]
    return [
        *path_item.get("parameters", []),
        *(p for o in operations for p in o.get("parameters", [])),
    ]


def test_d6_the_openapi_document_names_licenses_by_key_never_by_id(client: FlaskClient) -> None:
    doc = ok(client.get("/v1/openapi.json"))
    for path, path_item in doc["paths"].items():
        names = {p["name"] for p in parameters(path_item)} | set(re.findall(r"{(\w+)}", path))
        assert not {n for n in names if "license" in n and n != "license_key"}, path
        if path.startswith("/v1/licenses/{"):
            assert re.findall(r"{(\w+)}", path) == ["key"], path
            (key,) = [p for p in parameters(path_item) if p["in"] == "path"]
            assert (key["name"], key["schema"]["type"]) == ("key", "string"), path
    schemas = doc["components"]["schemas"]
    for name, schema in schemas.items():
        assert "license_id" not in schema.get("properties", {}), name
    for name in ("License", "LicenseSummary", "EntitlementLicense"):
        assert "key" in schemas[name]["properties"] and "id" not in schemas[name]["properties"]
    for name in ("Order", "RenewalOrder", "Quote", "QuoteCreate"):
        assert "license_key" in schemas[name]["properties"], name


def keys_in(answer: Any) -> set[str]:
    """Every object key anywhere in a JSON answer."""
    if isinstance(answer, dict):
        return set(answer) | {k for v in answer.values() for k in keys_in(v)}
    if isinstance(answer, list):
        return {k for v in answer for k in keys_in(v)}
    return set()


def test_d6_answers_name_a_license_by_key_and_its_id_addresses_nothing(
    app: Flask, client: FlaskClient, admin: Api, checkout: Api, gateway: Any
) -> None:
    """D6: a license bought through checkout is shown by key in its own answers and in the
    orders and quotes that concern it; its integer id is in no answer and is no URL."""
    customer = new_customer(admin)["id"]
    order = created(
        checkout.post(
            "/v1/orders",
            json={
                "kind": "purchase",
                "customer_id": customer,
                "edition": "pro",
                "domain": "d6.example.com",
            },
        )
    )
    pi = order["payment"]["payment_intent_id"]
    body, headers = signed(stripe_event("payment_intent.succeeded", intent(pi, charge=f"ch_{pi}")))
    assert client.post("/v1/stripe/webhook", data=body, headers=headers).status_code == 200
    with app.app_context():
        license_id, key = db.session.execute(
            select(License.id, License.key).where(License.domain == "d6.example.com")
        ).one()
    helpdesk = Api(client, make_key(app, "helpdesk"))
    answers = {
        "license": ok(admin.get(f"/v1/licenses/{key}")),
        "listed": ok(admin.get(f"/v1/customers/{customer}/licenses"))["items"][0],
        "purchase": ok(checkout.get(f"/v1/orders/{order['id']}")),
        "renewal": created(
            checkout.post("/v1/orders", json={"kind": "renewal", "license_key": key})
        ),
        "quote": created(
            helpdesk.post(
                "/v1/quotes",
                json={
                    "customer_id": customer,
                    "license_key": key,
                    "lines": [{"category": "layout", "description": "Banner", "hours": 1}],
                },
            )
        ),
        "entitlement": ok(
            helpdesk.get(
                f"/v1/entitlements?customer_id={customer}&department=technical_support"
                "&domain=d6.example.com"
            )
        ),
    }
    ok(helpdesk.post(f"/v1/quotes/{answers['quote']['id']}/send"))
    accepted = ok(checkout.post(f"/v1/quotes/{answers['quote']['id']}/accept"))
    answers["work"] = ok(checkout.get(f"/v1/orders/{accepted['order_id']}"))
    assert answers["license"]["key"] == answers["listed"]["key"] == key
    assert answers["entitlement"]["license"]["key"] == key
    for name in ("purchase", "renewal", "quote", "work"):
        assert answers[name]["license_key"] == key, name
    for name in ("renewal", "work"):  # the order's history names the license too
        assert answers[name]["history"][0]["data"]["license_key"] == key, name
    for name, answer in answers.items():
        assert "license_id" not in keys_in(answer), name
    for shown in (answers["license"], answers["listed"], answers["entitlement"]["license"]):
        assert "id" not in shown
    assert str(license_id) != key
    problem(admin.get(f"/v1/licenses/{license_id}"), 404, "LICENSE_NOT_FOUND")
