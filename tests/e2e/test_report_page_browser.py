"""The renewal report's page in a real headless browser (Debian's chromium, driven by
Playwright with the system browser; never a downloaded browser build)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest
from flask import Flask

from licensing import demo_data
from licensing.domain.money import format_decimal
from licensing.extensions import db
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
        status, revenue = http("GET", f"{url}/v1/reports/revenue?{query}", key=key)
        counts = {k["kind"]: k["count"] for k in revenue["by_kind"]}
        assert status == 200 and counts["purchase"] > 0 and counts["work"] > 0
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
                # beside it, every order kind's revenue over the same period (D18)
                revenue_groups = page.locator("svg#revenue-chart g.revenue-month")
                assert revenue_groups.count() == 12
                kinds = [k["kind"] for k in revenue["by_kind"]]
                assert page.locator("svg#revenue-chart g.revenue-month rect").count() == 12 * len(
                    kinds
                )
                shown = page.eval_on_selector_all(
                    "#revenue-by-kind tbody tr", "rows => rows.map(r => r.dataset.kind)"
                )
                assert shown == kinds
                assert page.inner_text("#revenue-total-count") == str(revenue["totals"]["count"])
                for name in ("revenue", "refunded", "net"):
                    assert page.inner_text(f"#revenue-total-{name}") == format_decimal(
                        revenue["totals"][name]["amount"]
                    )
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(
                    path=str(ARTIFACTS / f"renewals-report-{backend.name}.png"), full_page=True
                )
            finally:
                browser.close()


def _spread_renewals(app: Flask) -> None:
    """Demo licenses bought over 2014-2026, in three batches, so that renewals are paid in
    every month of the ten years up to 2026-11 (the demo generator looks five years back)."""
    with app.app_context():
        for seed, year, month, day in ((11, 2019, 1, 1), (12, 2023, 1, 1), (7, 2026, 11, 26)):
            now = datetime(year, month, day, tzinfo=UTC)
            demo_data.generate(licenses=400, seed=seed, now=now)
        db.session.remove()


@pytest.mark.parametrize(
    ("first", "last", "months", "labels"),
    [
        # 24 months: every other month is labelled (the odd ones, the same each year)
        ("2024-12", "2026-11", 24, [f"{y}-{m:02d}" for y in (2025, 2026) for m in range(1, 12, 2)]),
        # 120 months (the most a report covers): one label a year, in January
        ("2016-12", "2026-11", 120, [f"{y}-01" for y in range(2017, 2027)]),
    ],
    ids=["24-months", "120-months"],
)
def test_d18_chart_fits_a_1280_px_window_for_up_to_120_months(
    app: Flask, backend, first: str, last: str, months: int, labels: list[str]
) -> None:
    from playwright.sync_api import sync_playwright

    _spread_renewals(app)
    key = make_key(app, "finance")
    with served(app) as url:
        query = f"from={first}&to={last}"
        status, report = http("GET", f"{url}/v1/reports/renewals?{query}", key=key)
        assert status == 200
        paid = {r["month"] for r in report["rows"] if int(r["net"]["amount"]) > 0}
        assert len(paid) == months  # real data: renewals in every month of the period
        status, link = http("POST", f"{url}/v1/reports/renewals/link?{query}", key=key)
        assert status == 200
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(link["url"], wait_until="load")

                groups = page.locator("svg#chart g.month")
                assert groups.count() == months
                assert groups.first.get_attribute("data-month") == first
                assert groups.last.get_attribute("data-month") == last
                assert page.locator("svg#chart g.month rect").count() == 2 * months
                drawn = page.eval_on_selector_all(
                    "svg#chart g.month",
                    "gs => gs.filter(g => [...g.querySelectorAll('rect')]"
                    ".some(r => r.getBoundingClientRect().height > 0)).map(g => g.dataset.month)",
                )
                assert sorted(drawn) == sorted(paid)

                # no sideways scrolling, and the chart, its last bar and the tables in view
                width = page.evaluate("document.documentElement.clientWidth")
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                box = page.locator("svg#chart").bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
                last_bar = page.locator("svg#chart g.month rect").last.bounding_box()
                assert last_bar is not None
                assert box["x"] < last_bar["x"] + last_bar["width"] <= box["x"] + box["width"]
                for table in ("#rows", "#renewal-rate", "#upcoming", "#revenue-by-kind"):
                    table_box = page.locator(table).bounding_box()
                    assert table_box is not None
                    assert table_box["x"] >= 0 and table_box["x"] + table_box["width"] <= width

                # month labels thinned to stay legible: readable size, apart, inside the chart
                texts = page.locator("svg#chart text.label")
                assert texts.all_text_contents() == labels
                boxes = [texts.nth(n).bounding_box() for n in range(texts.count())]
                assert all(b is not None and b["height"] >= 10 for b in boxes)
                for before, after in pairwise(boxes):
                    assert before["x"] + before["width"] + 8 <= after["x"]
                assert boxes[0]["x"] >= box["x"]
                assert boxes[-1]["x"] + boxes[-1]["width"] <= box["x"] + box["width"]

                # the revenue chart beside it: as wide as the column, every month, in view
                revenue_box = page.locator("svg#revenue-chart").bounding_box()
                assert revenue_box is not None and revenue_box["x"] >= 0
                assert revenue_box["x"] + revenue_box["width"] <= width
                assert page.locator("svg#revenue-chart g.revenue-month").count() == months
                last_stack = page.locator("svg#revenue-chart g.revenue-month rect").last
                stack_box = last_stack.bounding_box()
                assert stack_box is not None
                assert (
                    stack_box["x"] + stack_box["width"] <= revenue_box["x"] + revenue_box["width"]
                )
                revenue_labels = page.locator("svg#revenue-chart text.label")
                assert revenue_labels.all_text_contents() == labels

                ARTIFACTS.mkdir(exist_ok=True)
                # the window as a person sees it at 1280x900: the heading, legend and chart
                page.screenshot(path=str(ARTIFACTS / f"report-{months}-months-{backend.name}.png"))
                page.locator("svg#revenue-chart").screenshot(
                    path=str(ARTIFACTS / f"revenue-{months}-months-{backend.name}.png")
                )
            finally:
                browser.close()
