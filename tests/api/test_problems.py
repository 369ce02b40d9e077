"""Every error, for any input, is RFC 9457 problem+json with a stable code; nothing half-written."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.factories import Api, new_customer, ok, problem


def test_malformed_json_is_400(admin: Api) -> None:
    response = admin.post(
        "/v1/customers", data="{not json", headers={"Content-Type": "application/json"}
    )
    problem(response, 400, "MALFORMED_JSON")


def test_wrong_content_type_is_415(admin: Api) -> None:
    response = admin.post(
        "/v1/customers",
        data="email=a@b.c",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_unknown_field_is_422_naming_it(admin: Api) -> None:
    response = admin.post(
        "/v1/customers", json={"email": "a@example.com", "name": "A", "vip": True}
    )
    assert problem(response, 422, "VALIDATION_FAILED")["errors"] == {"vip": ["Unknown field."]}


def test_missing_and_bad_fields_are_each_named(admin: Api) -> None:
    response = admin.post("/v1/customers", json={"email": "not-an-email"})
    errors = problem(response, 422, "VALIDATION_FAILED")["errors"]
    assert set(errors) == {"email", "name"}


def test_json_that_is_not_an_object_is_422(admin: Api) -> None:
    for body in ([], "text", 42, None):
        response = admin.post("/v1/customers", json=body)
        assert response.status_code in (400, 422), body
        assert response.mimetype == "application/problem+json"


def test_bad_enum_is_422(admin: Api) -> None:
    customer = new_customer(admin)
    body = {
        "customer_id": customer["id"],
        "edition": "pro",
        "domain": "e.example.com",
        "purchased_at": "2026-01-01T00:00:00Z",
        "channel": "reseller",
    }
    assert (
        "channel"
        in problem(admin.post("/v1/licenses/import", json=body), 422, "VALIDATION_FAILED")["errors"]
    )


def test_huge_body_is_413(admin: Api) -> None:
    body = {"email": "big@example.com", "name": "x" * 200_000}
    problem(admin.post("/v1/customers", json=body), 413, "PAYLOAD_TOO_LARGE")


def test_unknown_path_is_404_problem(admin: Api) -> None:
    problem(admin.get("/v1/nothing-here"), 404, "NOT_FOUND")
    problem(admin.get("/"), 404, "NOT_FOUND")


def test_wrong_method_is_405_with_allow(admin: Api) -> None:
    response = admin.client.delete("/v1/editions", headers={"Authorization": f"Bearer {admin.key}"})
    problem(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["Allow"]


def test_id_too_large_for_the_database_is_404_not_500(admin: Api) -> None:
    problem(admin.get(f"/v1/customers/{2**64}"), 404, "NOT_FOUND")
    problem(admin.get("/v1/customers/0"), 404, "NOT_FOUND")


def test_unexpected_exception_is_500_problem_without_trace(
    app: Flask, admin: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from licensing.services import catalog

    def explode() -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(catalog, "list_editions", explode)
    response = admin.get("/v1/editions")
    body = problem(response, 500, "INTERNAL_ERROR")
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in body["detail"]


def test_failed_request_leaves_no_partial_write(admin: Api) -> None:
    """A license whose second step fails (domain taken at the index) leaves no row nor history."""
    customer = new_customer(admin)
    body = {
        "customer_id": customer["id"],
        "edition": "pro",
        "domain": "once.example.com",
        "purchased_at": "2026-01-01T00:00:00Z",
        "channel": "direct",
    }
    assert admin.post("/v1/licenses/import", json=body).status_code == 201
    problem(admin.post("/v1/licenses/import", json=body), 409, "DOMAIN_TAKEN")
    assert len(ok(admin.get(f"/v1/customers/{customer['id']}/licenses"))["items"]) == 1


def test_duplicate_customer_email_is_409(admin: Api) -> None:
    new_customer(admin, email="dup@example.com")
    response = admin.post("/v1/customers", json={"email": "DUP@example.com", "name": "Again"})
    problem(response, 409, "EMAIL_TAKEN")


def test_instants_out_of_range_are_422_not_500(admin: Api) -> None:
    for instant in (
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:00:00-05:00",
        "3000-01-01T00:00:00Z",
    ):
        body = {"version": "7.0", "released_at": instant}
        assert (
            "released_at"
            in problem(admin.post("/v1/releases", json=body), 422, "VALIDATION_FAILED")["errors"]
        )


def test_cursor_beyond_bigint_is_422(admin: Api) -> None:
    import base64

    cursor = base64.urlsafe_b64encode(b"v1:9223372036854775808").decode().rstrip("=")
    assert (
        "cursor"
        in problem(admin.get(f"/v1/releases?cursor={cursor}"), 422, "VALIDATION_FAILED")["errors"]
    )


def test_deeply_nested_json_is_400_even_unauthenticated(client) -> None:
    deep = "[" * 30000 + "]" * 30000
    response = client.post(
        "/v1/licenses/validate", data=deep, headers={"Content-Type": "application/json"}
    )
    problem(response, 400, "MALFORMED_JSON")


def test_text_that_is_only_white_space_is_missing_not_stored_blank(admin: Api) -> None:
    """Found by the fuzzer: a name of one space was stored as an empty name."""
    response = admin.post("/v1/customers", json={"email": "blank@example.com", "name": "   "})
    assert "name" in problem(response, 422, "VALIDATION_FAILED")["errors"]
    partner = admin.post("/v1/partners", json={"name": " ", "support_email": "s@example.com"})
    assert "name" in problem(partner, 422, "VALIDATION_FAILED")["errors"]
    trimmed = admin.post("/v1/customers", json={"email": "trim@example.com", "name": "  Ada  "})
    assert trimmed.get_json()["name"] == "Ada"
