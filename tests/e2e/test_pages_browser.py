"""The pages for people in a real headless browser (Debian's chromium through Playwright,
never a downloaded build), against the served service, its local Stripe (which serves its
own Stripe.js) and a real SMTP server. Screenshots of each page go to test-artifacts/, and
axe-core checks each page for serious or critical accessibility violations.

localstripe's card element is a row of plain inputs standing in for Stripe's iframe; axe
leaves it out (in production the card field is Stripe's own frame)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from licensing.api.page_shell import content_security_policy
from licensing.clock import utcnow
from licensing.services import emails
from tests.e2e.conftest import http
from tests.factories import make_key

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]
CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000341"
LINK = re.compile(r"(http://\S+/account/sign-in/link\?token=\S+)")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (.ci/run installs it with apt-get)"
)


@pytest.fixture
def site(app: Flask, service: str, localstripe: str, mailer: Any) -> Iterator[str]:
    """The served pages loading Stripe.js from the local Stripe, mailing links to `service`."""
    settings = app.config["SETTINGS"]
    stripe_js = f"{localstripe}/js.stripe.com/v3/"
    app.config["SETTINGS"] = settings.replace(stripe_js_url=stripe_js, public_url=service)
    app.extensions["page_policy"] = content_security_policy(stripe_js)
    app.extensions["sign_in_limits"].window.storage.reset()
    try:
        yield service
    finally:
        app.config["SETTINGS"] = settings
        app.extensions["page_policy"] = content_security_policy(settings.stripe_js_url)


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


def snapshot(page: Any, name: str) -> None:
    """The page's screenshot, and no serious or critical axe-core violation on it."""
    from axe_playwright_python.sync_playwright import Axe

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"pages-{name}.png"), full_page=True)
    results = Axe().run(page, context={"exclude": [["#card-element"]]})
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], f"{name}: {serious}"


def fill_card(page: Any, number: str) -> None:
    card = page.locator("#card-element")
    card.locator("input[placeholder=number]").fill(number)
    card.locator("input[placeholder=exp_month]").fill("12")
    card.locator("input[placeholder=exp_year]").fill("34")
    card.locator("input[placeholder=cvc]").fill("123")
    card.locator("input[placeholder=postal_code]").fill("75001")


def buy(page: Any, site: str, *, email: str, domain: str, card: str) -> None:
    page.goto(f"{site}/buy?edition=pro")
    page.fill("input[name=email]", email)
    page.fill("input[name=name]", "Ada Owner")
    page.fill("input[name=domain]", domain)
    fill_card(page, card)
    with page.expect_navigation():  # Stripe.js reads the card first, then the form is sent
        page.click("button[type=submit]")


def sign_in(page: Any, site: str, smtp_server: Any, email: str) -> None:
    page.goto(f"{site}/account/sign-in")
    snapshot(page, "sign-in")
    page.fill("input[name=email]", email)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Check your email")
    snapshot(page, "link-sent")
    text = smtp_server.received()[-1].get_body(("plain",)).get_content()
    page.goto(LINK.search(text).group(1))
    snapshot(page, "sign-in-link")
    page.click("button[type=submit]")
    page.wait_for_url(f"{site}/account")


def key_mailed(app: Flask, smtp_server: Any, to: str, license_key: str) -> bool:
    """D25: the license-issued notice went to the outbox with the payment; the worker's
    delivery step (run here once) mails it over SMTP to the owner, key included."""
    with app.app_context():
        emails.deliver(mailer=app.extensions["mailer"], now=utcnow())
    return any(
        message["To"] == to and license_key in message.get_body(("plain",)).get_content()
        for message in smtp_server.received()
    )


def test_d24_buy_sign_in_renew_and_move_in_a_browser(
    site: str, app: Flask, browser: Any, smtp_server: Any
) -> None:
    key = make_key(app, "admin")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{site}/buy?edition=pro")
    snapshot(page, "buy")
    buy(page, site, email="Ada@Example.com", domain="ada.example.com", card=CARD_DECLINED)
    assert page.inner_text("#card-error") == "Your card was declined."
    assert page.get_attribute("#card-element", "aria-describedby") == "card-error"
    snapshot(page, "buy-declined")

    buy(page, site, email="Ada@Example.com", domain="ada.example.com", card=CARD_OK)
    shown = page.wait_for_selector("[data-license-key]", timeout=30_000)
    license_key = shown.get_attribute("data-license-key")
    snapshot(page, "bought")
    status, license = http("GET", f"{site}/v1/licenses/{license_key}", key=key)
    assert status == 200 and license["domain"] == "ada.example.com"
    assert key_mailed(app, smtp_server, "ada@example.com", license_key)

    sign_in(page, site, smtp_server, "ada@example.com")
    snapshot(page, "account")
    card = page.locator(f'[data-license="{license_key}"]')
    before = card.locator("[data-updates-until]").get_attribute("data-updates-until")
    assert before == license["updates_until"]
    status, offer = http("GET", f"{site}/v1/licenses/{license_key}/renewal-quote", key=key)
    assert status == 200 and offer["rate"] == "preferential"
    assert card.locator("[data-renewal-rate]").get_attribute("data-renewal-rate") == offer["rate"]
    amount = card.locator("[data-renewal-amount]").get_attribute("data-renewal-amount")
    assert amount == str(offer["price"]["amount"])

    card.locator('a[data-action="renew"]').click()
    snapshot(page, "renew")
    fill_card(page, CARD_OK)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/account/orders/\d+.*"))
    renewed = page.wait_for_selector("[data-updates-until]", timeout=30_000)
    snapshot(page, "renewed")
    status, after = http("GET", f"{site}/v1/licenses/{license_key}", key=key)
    assert renewed.get_attribute("data-updates-until") == after["updates_until"] > before

    page.goto(f"{site}/account")
    page.locator(f'[data-license="{license_key}"] a[data-action="move-domain"]').click()
    snapshot(page, "move-domain")
    page.fill("input[name=domain]", "ada-new.example.com")
    page.click("button[type=submit]")
    page.wait_for_selector("text=The license now belongs to ada-new.example.com")
    status, moved = http("GET", f"{site}/v1/licenses/{license_key}", key=key)
    assert moved["domain"] == "ada-new.example.com"
    assert moved["updates_until"] == after["updates_until"]
    with page.expect_download() as download:
        page.locator(f'[data-license="{license_key}"] a[data-action="certificate"]').click()
    assert download.value.suggested_filename == "ada-new.example.com.license.jwt"


def test_d24_no_csrf_token_refused_anothers_license_never_shown_and_an_upgrade_paid(
    site: str, app: Flask, browser: Any, smtp_server: Any
) -> None:
    key = make_key(app, "admin")
    owners = []
    for n in (1, 2):
        body = {"email": f"owner{n}@example.com", "name": f"Owner {n}"}
        status, customer = http("POST", f"{site}/v1/customers", key=key, body=_json(body))
        assert status == 201
        body = {
            "customer_id": customer["id"],
            "edition": "pro",
            "domain": f"owner{n}.example.com",
            "purchased_at": "2026-06-01T10:00:00Z",
            "channel": "direct",
        }
        status, license = http("POST", f"{site}/v1/licenses/import", key=key, body=_json(body))
        assert status == 201
        owners.append(license["key"])
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, site, smtp_server, "owner1@example.com")
    assert page.locator(f'[data-license="{owners[0]}"]').count() == 1
    assert owners[1] not in page.content() and "owner2.example.com" not in page.content()
    answer = page.goto(f"{site}/account/licenses/{owners[1]}/renew")
    assert answer.status == 404 and owners[1] not in page.content()
    snapshot(page, "not-found")

    page.goto(f"{site}/account/licenses/{owners[0]}/domain")
    page.fill("input[name=domain]", "elsewhere.example.com")
    page.evaluate("document.querySelector('input[name=csrf_token]').remove()")
    page.click("button[type=submit]")
    page.wait_for_selector("text=This form has expired")
    snapshot(page, "csrf-refused")
    status, license = http("GET", f"{site}/v1/licenses/{owners[0]}", key=key)
    assert license["domain"] == "owner1.example.com"

    page.goto(f"{site}/account")
    page.locator(f'[data-license="{owners[0]}"] a[data-action="upgrade"]').click()
    snapshot(page, "upgrade")
    fill_card(page, CARD_OK)
    page.click("button[type=submit]")
    page.wait_for_selector('[data-order-status="paid"]', timeout=30_000)
    status, upgraded = http("GET", f"{site}/v1/licenses/{owners[0]}", key=key)
    assert (upgraded["edition"], upgraded["updates_until"]) == ("premium", license["updates_until"])


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()
