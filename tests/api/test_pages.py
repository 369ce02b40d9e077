"""The pages for people through Flask's test client (D24): sessions only on the pages, CSRF on
every form, the policy header, sign-in by a single-use link, and only one's own licenses.
The browser test (tests/e2e/test_pages_browser.py) pays through a real local Stripe."""

from __future__ import annotations

import re
from typing import Any

import pytest
import time_machine
from flask import Flask

from licensing.clock import utcnow
from tests.factories import Api, import_license, new_customer

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
LINK = re.compile(r"(http://\S+/account/sign-in/link\?token=\S+)")


def csrf(client: Any, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    match = TOKEN.search(page.text)
    assert match, page.text
    return match.group(1)


def sign_in(client: Any, smtp_server: Any, email: str) -> None:
    token = csrf(client, "/account/sign-in")
    answer = client.post("/account/sign-in", data={"csrf_token": token, "email": email})
    assert answer.status_code == 200 and "Check your email" in answer.text
    link = LINK.search(smtp_server.received()[-1].get_body(("plain",)).get_content()).group(1)
    path = link.split("127.0.0.1:8000", 1)[1]
    page = client.get(path)
    form = {"csrf_token": TOKEN.search(page.text).group(1), "token": path.split("token=")[1]}
    used = client.post("/account/sign-in/link", data=form)
    assert used.status_code == 302 and used.headers["Location"] == "/account"


@pytest.fixture(autouse=True)
def fresh_sign_in_limits(app: Flask) -> None:
    """The app lives for the session; each test starts with no sign-in requests counted."""
    app.extensions["sign_in_limits"].window.storage.reset()


@pytest.fixture
def owner(admin: Api) -> dict[str, Any]:
    return new_customer(admin, email="Owner@Example.com")


def test_d24_pages_send_a_strict_policy_and_api_routes_open_no_session(client: Any) -> None:
    page = client.get("/buy?edition=pro")
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self' https://js.stripe.com" in policy and "unsafe-inline" not in policy
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert 'id="card-element"' in page.text and 'name="email"' in page.text
    api = client.get("/v1/editions", headers={"Authorization": "Bearer nope"})
    assert "Set-Cookie" not in api.headers
    assert client.get("/buy?edition=gold").status_code == 404


def test_d24_a_form_without_its_csrf_token_is_refused(client: Any, owner: dict) -> None:
    client.get("/account/sign-in")
    answer = client.post("/account/sign-in", data={"email": "owner@example.com"})
    assert answer.status_code == 400 and "security token" in answer.text
    assert answer.mimetype == "text/html"


def test_d24_sign_in_answers_the_same_for_a_known_and_an_unknown_email(
    client: Any, owner: dict, smtp_server: Any, mailer: Any
) -> None:
    answers = []
    for email in ("  OWNER@example.com ", "nobody@example.com"):
        token = csrf(client, "/account/sign-in")
        answer = client.post("/account/sign-in", data={"csrf_token": token, "email": email})
        answers.append((answer.status_code, answer.text.replace(email.strip(), "EMAIL")))
    assert answers[0] == answers[1]
    assert [m["To"] for m in smtp_server.received()] == ["owner@example.com"]


def test_d24_a_sign_in_link_works_once_and_not_after_15_minutes(
    client: Any, app: Flask, owner: dict, smtp_server: Any, mailer: Any
) -> None:
    sign_in(client, smtp_server, "owner@example.com")
    assert client.get("/account").status_code == 200
    body = smtp_server.received()[-1].get_body(("plain",)).get_content()
    path = LINK.search(body).group(1).split("127.0.0.1:8000", 1)[1]
    form = {"csrf_token": csrf(client, "/account/sign-in"), "token": path.split("token=")[1]}
    assert client.post("/account/sign-in/link", data=form).status_code == 400  # used once
    client.post("/account/sign-out", data={"csrf_token": csrf(client, "/account/sign-in")})
    assert client.get("/account").status_code == 302
    with time_machine.travel(utcnow(), tick=False) as traveller:
        token = csrf(client, "/account/sign-in")
        client.post("/account/sign-in", data={"csrf_token": token, "email": "owner@example.com"})
        body = smtp_server.received()[-1].get_body(("plain",)).get_content()
        late = LINK.search(body).group(1).split("token=")[1]
        traveller.shift(15 * 60 + 1)
        form = {"csrf_token": csrf(client, "/account/sign-in"), "token": late}
        assert client.post("/account/sign-in/link", data=form).status_code == 400


def test_d24_sign_in_requests_are_rate_limited_per_email(
    client: Any, owner: dict, smtp_server: Any, mailer: Any
) -> None:
    statuses = []
    for _ in range(7):
        token = csrf(client, "/account/sign-in")
        data = {"csrf_token": token, "email": "owner@example.com"}
        statuses.append(client.post("/account/sign-in", data=data).status_code)
    assert statuses == [200] * 5 + [429] * 2
    assert len(smtp_server.received()) == 5


def test_d24_the_account_shows_only_the_customers_own_licenses(
    client: Any, admin: Api, owner: dict, smtp_server: Any, mailer: Any
) -> None:
    mine = import_license(admin, customer_id=owner["id"], domain="mine.example.com")
    other = new_customer(admin)
    theirs = import_license(admin, customer_id=other["id"], domain="theirs.example.com")
    sign_in(client, smtp_server, "owner@example.com")
    page = client.get("/account")
    assert f'data-license="{mine["key"]}"' in page.text
    assert theirs["key"] not in page.text and "theirs.example.com" not in page.text
    for action in ("renew", "domain", "upgrade"):
        answer = client.get(f"/account/licenses/{theirs['key']}/{action}")
        assert answer.status_code == 404 and theirs["key"] not in answer.text


def test_d5_moving_the_domain_on_the_page_keeps_the_dates(
    client: Any, admin: Api, owner: dict, smtp_server: Any, mailer: Any
) -> None:
    mine = import_license(admin, customer_id=owner["id"], domain="before.example.com")
    import_license(admin, customer_id=new_customer(admin)["id"], domain="taken.example.com")
    sign_in(client, smtp_server, "owner@example.com")
    path = f"/account/licenses/{mine['key']}/domain"
    refused = client.post(
        path, data={"csrf_token": csrf(client, path), "domain": "taken.example.com"}
    )
    assert (
        refused.status_code == 422 and 'aria-describedby="domain-hint domain-error"' in refused.text
    )
    moved = client.post(
        path, data={"csrf_token": csrf(client, path), "domain": "https://After.example.com/x"}
    )
    assert moved.status_code == 302
    after = admin.get(f"/v1/licenses/{mine['key']}").get_json()
    assert after["domain"] == "after.example.com"
    assert after["updates_until"] == mine["updates_until"]


def test_d24_buy_explains_bad_input_beside_each_field_and_writes_nothing(
    client: Any, admin: Api, gateway: Any
) -> None:
    import_license(admin, customer_id=new_customer(admin)["id"], domain="taken.example.com")
    token = csrf(client, "/buy?edition=pro")
    form = {"csrf_token": token, "edition": "pro", "email": "x", "name": "", "domain": "localhost"}
    answer = client.post("/buy", data=form)
    assert answer.status_code == 422
    for name in ("email", "name", "domain", "card"):
        assert f'id="{name}-error"' in answer.text
    form |= {"email": "new@example.com", "name": "New", "domain": "taken.example.com"}
    form["card"] = "card_ok"
    taken = client.post("/buy", data=form)
    assert taken.status_code == 422 and "taken.example.com" in taken.text
    assert admin.get("/v1/customers?email=new@example.com").status_code in (200, 404, 405)
    assert gateway.intents == {}


def test_d24_a_declined_card_is_explained_and_its_order_cancelled(
    client: Any, admin: Api, gateway: Any
) -> None:
    form = {
        "csrf_token": csrf(client, "/buy?edition=premium"),
        "edition": "premium",
        "email": "buyer@example.com",
        "name": "Buyer",
        "domain": "declined.example.com",
        "card": "card_declined",
    }
    answer = client.post("/buy", data=form)
    assert answer.status_code == 402 and "Your card was declined." in answer.text
    assert [intent["status"] for intent in gateway.intents.values()] == ["canceled"]
    form["card"] = "card_ok"
    paid = client.post("/buy", data=form)
    assert paid.status_code == 302 and "/buy/orders/" in paid.headers["Location"]
    assert client.get(paid.headers["Location"]).status_code == 200
    assert app_client_other_browser_sees_nothing(client, paid.headers["Location"])


def app_client_other_browser_sees_nothing(client: Any, location: str) -> bool:
    other = client.application.test_client()
    return other.get(location).status_code == 404


def test_d24_a_session_ends_12_hours_after_signing_in(
    client: Any, owner: dict, smtp_server: Any, mailer: Any
) -> None:
    with time_machine.travel(utcnow(), tick=False) as traveller:
        sign_in(client, smtp_server, "owner@example.com")
        traveller.shift(12 * 3600 - 60)
        assert client.get("/account").status_code == 200
        traveller.shift(61)
        answer = client.get("/account")
        assert answer.status_code == 302 and answer.headers["Location"] == "/account/sign-in"


def test_d19_upgrade_on_the_page_opens_an_upgrade_order_at_the_price_difference(
    client: Any, admin: Api, owner: dict, smtp_server: Any, mailer: Any, gateway: Any
) -> None:
    mine = import_license(admin, customer_id=owner["id"], domain="up.example.com")
    sign_in(client, smtp_server, "owner@example.com")
    editions = {
        e["code"]: e["price"]["amount"] for e in admin.get("/v1/editions").get_json()["items"]
    }
    path = f"/account/licenses/{mine['key']}/upgrade"
    page = client.get(path)
    assert f'data-upgrade-amount="{editions["premium"] - editions["pro"]}"' in page.text
    paid = client.post(path, data={"csrf_token": csrf(client, path), "card": "card_ok"})
    assert paid.status_code == 302
    order = admin.get(paid.headers["Location"].replace("/account", "/v1").split("?")[0]).get_json()
    assert (order["kind"], order["price"]["amount"]) == (
        "upgrade",
        editions["premium"] - editions["pro"],
    )
    assert order["history"][0]["actor"] == f"pages:customer:{owner['id']}"


def test_d24_a_sent_quote_is_accepted_and_paid_on_the_page_a_draft_is_not_shown(
    client: Any, admin: Api, owner: dict, smtp_server: Any, mailer: Any, gateway: Any
) -> None:
    line = {"category": "programming", "description": "Import from 1C", "hours": 2.5}
    draft = admin.post("/v1/quotes", json={"customer_id": owner["id"], "lines": [line]})
    sent = admin.post("/v1/quotes", json={"customer_id": owner["id"], "lines": [line]})
    draft, sent = draft.get_json(), sent.get_json()
    assert admin.post(f"/v1/quotes/{sent['id']}/send").status_code == 200
    sign_in(client, smtp_server, "owner@example.com")
    account = client.get("/account").text
    assert f'data-quote="{sent["id"]}"' in account and f'data-quote="{draft["id"]}"' not in account
    assert client.get(f"/account/quotes/{draft['id']}").status_code == 404
    path = f"/account/quotes/{sent['id']}"
    paid = client.post(path, data={"csrf_token": csrf(client, path), "card": "card_ok"})
    assert paid.status_code == 302
    quote = admin.get(f"/v1/quotes/{sent['id']}").get_json()
    assert quote["status"] == "accepted" and quote["order_id"]
    assert f"/account/orders/{quote['order_id']}" in paid.headers["Location"]
    assert client.get(paid.headers["Location"]).status_code == 200


def test_d22_the_certificate_downloaded_from_the_account_verifies_with_the_published_key(
    client: Any, admin: Api, owner: dict, smtp_server: Any, mailer: Any
) -> None:
    import jwt

    mine = import_license(admin, customer_id=owner["id"], domain="cert.example.com")
    theirs = import_license(admin, customer_id=new_customer(admin)["id"])
    sign_in(client, smtp_server, "owner@example.com")
    assert f'href="/account/licenses/{mine["key"]}/certificate"' in client.get("/account").text
    answer = client.get(f"/account/licenses/{mine['key']}/certificate")
    assert answer.status_code == 200 and answer.mimetype == "application/jwt"
    assert "attachment" in answer.headers["Content-Disposition"]
    keys = client.get("/v1/signing-keys").get_json()
    token = answer.get_data(as_text=True)
    key = jwt.PyJWKSet.from_dict(keys)[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, key, algorithms=["EdDSA"])
    assert (claims["sub"], claims["domain"]) == (mine["key"], "cert.example.com")
    assert client.get(f"/account/licenses/{theirs['key']}/certificate").status_code == 404


def test_d24_in_production_the_session_cookie_is_secure_too() -> None:
    from licensing import create_app
    from licensing.settings import Settings
    from tests.unit.test_settings import SECRETS

    app = create_app(Settings.from_env({"LICENSING_ENV": "production", **SECRETS}))
    page = app.test_client().get("/account/sign-in", base_url="https://licensing.example")
    cookie = page.headers["Set-Cookie"]
    assert all(part in cookie for part in ("Secure", "HttpOnly", "SameSite=Lax"))


def test_stripe_js_url_sets_the_pages_script_origin_and_must_be_a_url() -> None:
    from licensing.api.page_shell import content_security_policy
    from licensing.settings import ConfigurationError, Settings

    policy = content_security_policy("http://127.0.0.1:8420/js.stripe.com/v3/")
    assert "script-src 'self' http://127.0.0.1:8420;" in policy
    assert "frame-src http://127.0.0.1:8420;" in policy and "api.stripe.com" not in policy
    real = content_security_policy(Settings.from_env({}).stripe_js_url)
    assert "connect-src 'self' https://js.stripe.com https://api.stripe.com" in real
    with pytest.raises(ConfigurationError, match="STRIPE_JS_URL"):
        Settings.from_env({"STRIPE_JS_URL": "js.stripe.com/v3"})


def test_d24_the_pages_static_files_come_from_this_service_without_a_cookie(client: Any) -> None:
    with client.get("/pages/static/card.js") as script:
        assert script.status_code == 200 and "createToken" in script.text
        assert "Set-Cookie" not in script.headers
    assert client.get("/pages/static/../settings.py").status_code == 404
