"""Catalog routes: editions (R1, D2) and releases (R10)."""

from __future__ import annotations

from tests.factories import Api, created, make_key, ok, problem


def test_r1_both_editions_exist_after_migration_with_default_prices(admin: Api) -> None:
    body = ok(admin.get("/v1/editions"))
    by_code = {item["code"]: item for item in body["items"]}
    assert by_code["pro"]["price"] == {"amount": 30000, "currency": "USD"}
    assert by_code["premium"]["price"] == {"amount": 50000, "currency": "USD"}
    assert by_code["premium"]["priority"] > by_code["pro"]["priority"]  # R12
    assert body["next_cursor"] is None


def test_d2_price_change_is_seen_on_next_request(admin: Api) -> None:
    body = ok(admin.put("/v1/editions/pro", json={"price": {"amount": 32000, "currency": "USD"}}))
    assert body["price"] == {"amount": 32000, "currency": "USD"}
    assert body["name"] == "Pro"
    listed = {e["code"]: e for e in ok(admin.get("/v1/editions"))["items"]}
    assert listed["pro"]["price"]["amount"] == 32000


def test_edition_price_must_be_non_negative_integer_usd(admin: Api) -> None:
    for price in (
        {"amount": -1, "currency": "USD"},
        {"amount": 10.5, "currency": "USD"},
        {"amount": "100", "currency": "USD"},
        {"amount": True, "currency": "USD"},
        {"amount": 100, "currency": "EUR"},
    ):
        body = problem(
            admin.put("/v1/editions/pro", json={"price": price}), 422, "VALIDATION_FAILED"
        )
        assert any(field.startswith("price.") for field in body["errors"]), body
    listed = {e["code"]: e for e in ok(admin.get("/v1/editions"))["items"]}
    assert listed["pro"]["price"]["amount"] == 30000


def test_r18_list_price_too_low_for_a_renewal_to_be_charged_is_422(admin: Api) -> None:
    """A price of 0 (or under $2.50) would make every payment from it a 402: refused."""
    for amount in (0, 1, 249):
        body = problem(
            admin.put("/v1/editions/pro", json={"price": {"amount": amount, "currency": "USD"}}),
            422,
            "VALIDATION_FAILED",
        )
        assert list(body["errors"]) == ["price.amount"], body
    lowest = ok(admin.put("/v1/editions/pro", json={"price": {"amount": 250, "currency": "USD"}}))
    assert lowest["price"]["amount"] == 250


def test_unknown_edition_is_404(admin: Api) -> None:
    problem(
        admin.put("/v1/editions/ultimate", json={"price": {"amount": 30000, "currency": "USD"}}),
        404,
        "EDITION_NOT_FOUND",
    )


def test_r10_releases_newest_first_and_paginated(app, client, admin: Api) -> None:
    for version, day in (("5.0", "01"), ("5.2", "20"), ("5.1", "10")):
        created(
            admin.post(
                "/v1/releases", json={"version": version, "released_at": f"2026-03-{day}T00:00:00Z"}
            )
        )
    helpdesk = Api(client, make_key(app, "helpdesk"))
    first = ok(helpdesk.get("/v1/releases?limit=2"))
    assert [r["version"] for r in first["items"]] == ["5.2", "5.1"]
    second = ok(helpdesk.get(f"/v1/releases?limit=2&cursor={first['next_cursor']}"))
    assert [r["version"] for r in second["items"]] == ["5.0"]
    assert second["next_cursor"] is None


def test_release_version_is_unique_and_well_formed(admin: Api) -> None:
    body = {"version": "6.0", "released_at": "2026-05-01T00:00:00Z"}
    created(admin.post("/v1/releases", json=body))
    problem(admin.post("/v1/releases", json=body), 409, "RELEASE_EXISTS")
    bad = problem(
        admin.post("/v1/releases", json={"version": "six", "released_at": "2026-05-01T00:00:00Z"}),
        422,
        "VALIDATION_FAILED",
    )
    assert "version" in bad["errors"]
    naive = problem(
        admin.post("/v1/releases", json={"version": "6.1", "released_at": "2026-05-01T00:00:00"}),
        422,
        "VALIDATION_FAILED",
    )
    assert "released_at" in naive["errors"]


def test_bad_cursor_is_422_naming_cursor(admin: Api) -> None:
    body = problem(admin.get("/v1/releases?cursor=garbage!"), 422, "VALIDATION_FAILED")
    assert "cursor" in body["errors"]


def test_edition_and_customer_names_with_control_characters_are_422_naming_name(
    admin: Api,
) -> None:
    """A name goes into email subjects: CR/LF would inject a header (`Bcc:`), so refused."""
    price = {"amount": 30000, "currency": "USD"}
    for name in ("Pro\r\nBcc: x@example.com", "Pro\tPlus", "Pro\x1bX"):
        body = problem(
            admin.put("/v1/editions/pro", json={"name": name, "price": price}),
            422,
            "VALIDATION_FAILED",
        )
        assert list(body["errors"]) == ["name"], body
        answer = admin.post("/v1/customers", json={"email": "cc@example.com", "name": name})
        assert list(problem(answer, 422, "VALIDATION_FAILED")["errors"]) == ["name"]
    listed = {e["code"]: e for e in ok(admin.get("/v1/editions"))["items"]}
    assert listed["pro"]["name"] == "Pro"
    assert (
        ok(admin.put("/v1/editions/pro", json={"name": " Pro 2 \n", "price": price}))["name"]
        == "Pro 2"
    )
