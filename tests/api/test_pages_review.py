"""Regression tests for the review of the pages for people (D24): forms work behind HTTPS in
production, sign-out ends the session on the server, input that would reach a mail header is
refused, and the sign-in limits cannot lock an owner out from elsewhere."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask

from tests.api.test_pages import TOKEN, csrf, sign_in
from tests.conftest import dispose
from tests.factories import Api, new_customer


@pytest.fixture(autouse=True)
def fresh_sign_in_limits(app: Flask) -> None:
    """The app lives for the session; each test starts with no sign-in requests counted."""
    app.extensions["sign_in_limits"].window.storage.reset()


def test_d24_in_production_over_https_a_form_posts_without_a_referer(app: Flask) -> None:
    """Every response says `Referrer-Policy: no-referrer`: a Referer check would refuse all."""
    from licensing import create_app
    from licensing.settings import Settings
    from tests.unit.test_settings import SECRETS

    database = app.config["SETTINGS"].database_url
    environ = {"LICENSING_ENV": "production", **SECRETS, "DATABASE_URL": database}
    production = create_app(Settings.from_env(environ))
    try:
        _post_without_referer(production.test_client())
    finally:
        dispose(production)


def _post_without_referer(client: Any) -> None:
    base = "https://licensing.example"
    page = client.get("/account/sign-in", base_url=base)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    token = csrf_from(page.text)
    data = {"csrf_token": token, "email": "nobody@example.com"}
    answer = client.post("/account/sign-in", data=data, base_url=base)
    assert answer.status_code == 200, answer.text
    assert "Check your email" in answer.text
    refused = client.post("/account/sign-in", data={"email": "x@example.com"}, base_url=base)
    assert refused.status_code == 400  # the token is still required


def csrf_from(html: str) -> str:
    match = TOKEN.search(html)
    assert match, html
    return match.group(1)


def test_d24_a_session_cookie_copied_before_sign_out_no_longer_signs_in(
    client: Any, admin: Api, smtp_server: Any, mailer: Any
) -> None:
    new_customer(admin, email="owner@example.com")
    sign_in(client, smtp_server, "owner@example.com")
    assert client.get("/account").status_code == 200
    copied = client.get_cookie("licensing_session").value
    token = csrf(client, "/account/sign-out")
    assert client.post("/account/sign-out", data={"csrf_token": token}).status_code == 302
    client.set_cookie("licensing_session", copied)  # the cookie replayed, as a thief would
    replayed = client.get("/account")
    assert replayed.status_code == 302 and replayed.headers["Location"] == "/account/sign-in"
    sign_in(client, smtp_server, "owner@example.com")  # signing in again works
    assert client.get("/account").status_code == 200


def ask_for_link(client: Any, ip: str, email: str = "owner@example.com") -> int:
    env = {"REMOTE_ADDR": ip}
    page = client.get("/account/sign-in", environ_base=env)
    data = {"csrf_token": csrf_from(page.text), "email": email}
    answer = client.post("/account/sign-in", data=data, environ_base=env)
    assert answer.status_code == 429 or "Check your email" in answer.text
    return answer.status_code


def test_d24_a_stranger_using_up_the_limit_does_not_lock_the_owner_out(
    app: Flask, client: Any, admin: Api, smtp_server: Any, mailer: Any
) -> None:
    new_customer(admin, email="owner@example.com")
    stranger = [ask_for_link(client, "203.0.113.9") for _ in range(6)]
    assert stranger == [200] * 5 + [429]
    assert ask_for_link(client, "198.51.100.7") == 200  # the owner, from elsewhere
    assert len(smtp_server.received()) == 6


def test_d24_past_the_addresses_overall_cap_the_page_is_the_same_and_nothing_is_sent(
    app: Flask, client: Any, admin: Api, smtp_server: Any, mailer: Any
) -> None:
    new_customer(admin, email="owner@example.com")
    for n in range(4):
        assert [ask_for_link(client, f"203.0.113.{n}") for _ in range(5)] == [200] * 5
    assert len(smtp_server.received()) == 20  # 20 per hour for an address, all clients
    assert ask_for_link(client, "198.51.100.7") == 200  # the same answer as a sent link
    assert ask_for_link(client, "198.51.100.7", "nobody@example.com") == 200
    assert len(smtp_server.received()) == 20


def customers(app: Flask) -> int:
    from sqlalchemy import func, select

    from licensing.adapters.models import Customer
    from licensing.extensions import db

    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Customer)).scalar_one()


def test_d24_buy_refuses_an_address_a_mail_header_would_change_or_a_name_with_cr_lf(
    app: Flask, client: Any, gateway: Any
) -> None:
    token = csrf(client, "/buy?edition=pro")
    good = {"csrf_token": token, "edition": "pro", "name": "Ann", "domain": "ann.example.com"}
    before = customers(app)
    for email in ("a<b@x.com", 'a"b@x.com', "a(b@x.com", "a,b@x.com", "a b@x.com"):
        answer = client.post("/buy", data=good | {"email": email, "card": "card_ok"})
        assert answer.status_code == 422, email
        assert 'id="email-error"' in answer.text and 'id="name-error"' not in answer.text
    for name in ("Ann\r\nBcc: x@example.com", "Ann\tOwner", "Ann\x1b"):
        form = good | {"email": "ann@example.com", "name": name, "card": "card_ok"}
        answer = client.post("/buy", data=form)
        assert answer.status_code == 422 and 'id="name-error"' in answer.text, name
        assert 'id="email-error"' not in answer.text
    assert customers(app) == before and gateway.intents == {}


def test_d24_a_sign_in_link_not_mailed_is_logged_without_the_address(
    client: Any, admin: Api, smtp_server: Any, mailer: Any, caplog: Any
) -> None:
    new_customer(admin, email="owner@example.com")
    smtp_server.refuse_with = "550 5.1.1 <owner@example.com>: no such user here"
    with caplog.at_level(logging.WARNING, logger="licensing"):
        assert ask_for_link(client, "203.0.113.9") == 200  # the same page: nothing revealed
    [line] = [r.getMessage() for r in caplog.records if "not mailed" in r.getMessage()]
    assert "SMTPDataError" in line and "550" in line
    assert "owner@example.com" not in caplog.text and "no such user" not in caplog.text
