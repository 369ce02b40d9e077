"""D18: months outside 1970-01..2999-12 are 422 naming `from`/`to` in every form of the
renewal report (JSON, CSV, signed link, page), never a 500; the document says the range."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from licensing.api.signed_links import RENEWALS_REPORT_PAGE
from licensing.domain.reports import MONTH_PATTERN
from tests.factories import Api, make_key, ok, problem

FAR = [
    ("from=9999-12&to=9999-12", "from"),
    ("from=3000-01&to=3000-01", "from"),
    ("from=2999-12&to=3000-01", "to"),
    ("from=1969-12&to=1970-01", "from"),
]


@pytest.fixture
def finance(app: Flask, client: FlaskClient) -> Api:
    return Api(client, make_key(app, "finance"))


@pytest.mark.parametrize(("query", "field"), FAR)
@pytest.mark.parametrize("accept", ["application/json", "text/csv"])
def test_d18_far_months_are_422_in_json_and_csv(
    finance: Api, query: str, field: str, accept: str
) -> None:
    answer = finance.get(f"/v1/reports/renewals?{query}", headers={"Accept": accept})
    assert field in problem(answer, 422, "VALIDATION_FAILED")["errors"]


@pytest.mark.parametrize(("query", "field"), FAR)
def test_d18_no_link_is_signed_for_far_months(finance: Api, query: str, field: str) -> None:
    answer = finance.post(f"/v1/reports/renewals/link?{query}")
    assert field in problem(answer, 422, "VALIDATION_FAILED")["errors"]


def test_d18_a_page_signed_for_far_months_is_422_not_500(app: Flask, client: FlaskClient) -> None:
    """A link signed before the check existed still leads to a problem, never to a 500."""
    with app.test_request_context():
        token = RENEWALS_REPORT_PAGE.serializer().dumps(
            {"from": "9999-12", "to": "9999-12", "edition": None, "exp": 2**40}
        )
    answer = client.get(f"/reports/renewals?token={token}")
    assert "from" in problem(answer, 422, "VALIDATION_FAILED")["errors"]


def test_d18_the_last_month_in_range_answers(finance: Api, client: FlaskClient) -> None:
    report = ok(finance.get("/v1/reports/renewals?from=2999-12&to=2999-12"))
    assert report["period"] == {"from": "2999-12", "to": "2999-12"}
    csv = finance.get(
        "/v1/reports/renewals?from=2999-12&to=2999-12", headers={"Accept": "text/csv"}
    )
    assert csv.status_code == 200
    link = ok(finance.post("/v1/reports/renewals/link?from=2999-12&to=2999-12"))
    assert client.get(link["url"].split("localhost", 1)[1]).status_code == 200


def test_d18_the_document_gives_the_month_pattern(client: FlaskClient) -> None:
    document = client.get("/v1/openapi.json").get_json()
    for path, method in (("/v1/reports/renewals", "get"), ("/v1/reports/renewals/link", "post")):
        params = {p["name"]: p for p in document["paths"][path][method]["parameters"]}
        for name in ("from", "to"):
            assert params[name]["schema"]["pattern"] == MONTH_PATTERN
            assert "1970-01 to 2999-12" in params[name]["description"]
