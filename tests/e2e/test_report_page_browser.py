"""The renewal report's page in a real headless browser (Debian's chromium, driven by
Playwright with the system browser; never a downloaded browser build)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask

from licensing.domain.money import format_decimal
from licensing.extensions import db
from licensing.services import demo_data
from tests.e2e.conftest import http, served
from tests.factories import make_key

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (.ci/run installs it with apt-get)"
)


def test_d18_chart_has_a_bar_group_per_month_and_the_totals_match_the_json(
    app: Flask, backend
) -> None:
    from playwright.sync_api import sync_playwright

    with app.app_context():
        demo_data.generate(licenses=300, seed=7, now=datetime(2026, 11, 26, tzinfo=UTC))
        db.session.remove()
    key = make_key(app, "finance")
    with served(app) as url:
        query = "from=2025-06&to=2026-05"
        status, report = http("GET", f"{url}/v1/reports/renewals?{query}", key=key)
        assert status == 200 and report["totals"]["count"] > 0
        status, link = http("POST", f"{url}/v1/reports/renewals/link?{query}", key=key)
        assert status == 200
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(link["url"], wait_until="load")
                groups = page.locator("svg#chart g.month")
                assert groups.count() == 12
                assert [groups.nth(n).get_attribute("data-month") for n in range(12)][:2] == [
                    "2025-06",
                    "2025-07",
                ]
                assert page.locator("svg#chart g.month rect").count() == 24
                totals = report["totals"]
                assert page.inner_text("#total-count") == str(totals["count"])
                for name in ("revenue", "refunded", "net"):
                    assert page.inner_text(f"#total-{name}") == format_decimal(
                        totals[name]["amount"]
                    )
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(
                    path=str(ARTIFACTS / f"renewals-report-{backend.name}.png"), full_page=True
                )
            finally:
                browser.close()
