"""Signed links (licensing/api/signed_links.py): a link handed out before the module existed
still opens its page, and a link of one kind never opens another kind's page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeSerializer

from licensing.api.signed_links import QUOTE_PAGE, RENEWALS_REPORT_PAGE, IssuedLink
from tests.factories import Api, created, make_key, new_customer, ok, problem

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FAR = int((T0 + timedelta(days=365)).timestamp())
REPORT_CLAIMS = {"from": "2026-01", "to": "2026-03", "edition": None}


def signed_as_before(app: Flask, salt: str, claims: dict[str, Any]) -> str:
    """A token as the views made them before they shared one module."""
    return URLSafeSerializer(app.config["SECRET_KEY"], salt=salt).dumps(claims)


def a_quote(app: Flask, client: FlaskClient, admin: Api) -> int:
    helpdesk = Api(client, make_key(app, "helpdesk"))
    line = {"category": "design", "description": "Logo", "hours": 1}
    body = {"customer_id": new_customer(admin)["id"], "lines": [line]}
    return int(created(helpdesk.post("/v1/quotes", json=body))["id"])


@time_machine.travel(T0, tick=False)
def test_links_are_signed_as_before(app: Flask) -> None:
    with app.test_request_context(base_url="https://billing.example.com"):
        quote = QUOTE_PAGE.issue("quotes/7", {"quote": 7})
        report = RENEWALS_REPORT_PAGE.issue("reports/renewals", REPORT_CLAIMS)
    exp = int((T0 + timedelta(days=30)).timestamp())
    token = signed_as_before(app, "quote-page", {"quote": 7, "exp": exp})
    assert quote == IssuedLink(
        url=f"https://billing.example.com/quotes/7?token={token}",
        expires_at=T0 + timedelta(days=30),
    )
    exp = int((T0 + timedelta(days=7)).timestamp())
    token = signed_as_before(app, "renewals-report", {**REPORT_CLAIMS, "exp": exp})
    assert report.url == f"https://billing.example.com/reports/renewals?token={token}"


def test_a_link_signed_before_opens_its_page(app: Flask, client: FlaskClient, admin: Api) -> None:
    quote_id = a_quote(app, client, admin)
    quote_token = signed_as_before(app, "quote-page", {"quote": quote_id, "exp": FAR})
    report_token = signed_as_before(app, "renewals-report", {**REPORT_CLAIMS, "exp": FAR})
    assert client.get(f"/quotes/{quote_id}?token={quote_token}").status_code == 200
    assert client.get(f"/reports/renewals?token={report_token}").status_code == 200


def test_a_link_opens_only_its_own_kind_of_page(
    app: Flask, client: FlaskClient, admin: Api
) -> None:
    quote_id = a_quote(app, client, admin)
    finance = Api(client, make_key(app, "finance"))
    report = ok(finance.post("/v1/reports/renewals/link?from=2026-01&to=2026-03"))
    report_token = report["url"].split("token=")[1]
    problem(client.get(f"/quotes/{quote_id}?token={report_token}"), 404, "LINK_INVALID")
    quote_token = signed_as_before(app, "quote-page", {"quote": quote_id, "exp": FAR})
    problem(client.get(f"/reports/renewals?token={quote_token}"), 404, "LINK_INVALID")
