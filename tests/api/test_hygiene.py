"""Request ids, security headers, and logs that never carry a key, a secret or a token."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from flask import Flask
from flask.testing import FlaskClient
from gunicorn.config import Config as GunicornConfig
from gunicorn.glogging import SafeAtoms

from licensing import gunicorn_config
from licensing.logs import REDACTED, JsonFormatter, RedactSecrets, redact
from tests.factories import Api, created, import_license, make_key, new_customer, ok
from tests.fakes import FakeGateway, intent, signed, stripe_event


def test_every_answer_has_a_request_id_and_security_headers(
    client: FlaskClient, admin: Api
) -> None:
    for response in (client.get("/healthz"), admin.get("/v1/editions"), client.get("/nope")):
        assert len(response.headers["X-Request-Id"]) >= 16
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert admin.get("/v1/editions").headers["Cache-Control"] == "no-store"
    echoed = client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert echoed.headers["X-Request-Id"] == "abc-123"
    assert (
        client.get("/healthz", headers={"X-Request-Id": "<script>"}).headers["X-Request-Id"]
        != "<script>"
    )


def test_logs_never_carry_keys_secrets_or_tokens(
    app: Flask,
    client: FlaskClient,
    admin: Api,
    checkout: Api,
    gateway: FakeGateway,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    customer = new_customer(admin)
    license = import_license(admin, customer_id=customer["id"], domain="quiet.example.com")
    client.post(
        "/v1/licenses/validate", json={"key": license["key"], "domain": "quiet.example.com"}
    )
    order = created(
        checkout.post(
            "/v1/orders",
            json={
                "kind": "purchase",
                "customer_id": customer["id"],
                "edition": "pro",
                "domain": "secret.example.com",
            },
        )
    )
    body, headers = signed(
        stripe_event(
            "payment_intent.succeeded", intent(order["payment"]["payment_intent_id"], charge="ch_q")
        )
    )
    client.post("/v1/stripe/webhook", data=body, headers=headers)
    helpdesk = Api(client, make_key(app, "helpdesk"))
    quote = created(
        helpdesk.post(
            "/v1/quotes",
            json={
                "customer_id": customer["id"],
                "lines": [{"category": "design", "description": "x", "hours": 1}],
            },
        )
    )
    link = ok(helpdesk.post(f"/v1/quotes/{quote['id']}/link"))
    client.get(link["url"].split("localhost", 1)[1])
    finance = Api(client, make_key(app, "finance"))
    report = ok(finance.post("/v1/reports/renewals/link?from=2026-01&to=2026-03"))
    client.get(report["url"].split("localhost", 1)[1])
    ok(admin.get(f"/v1/licenses/{license['key']}"))
    ok(admin.get(f"/v1/licenses/{license['key'].replace('-', '').lower()}"))
    ok(admin.get(f"/v1/licenses/{license['key']}/renewal-quote"))
    ok(admin.put(f"/v1/licenses/{license['key']}/domain", json={"domain": "moved.example.com"}))
    client.get(f"/nope/{license['key']}")  # unmatched: not even its path is logged
    # Any record of the service's loggers goes through the redacting filter, extras included.
    logging.getLogger("licensing.api").warning(
        "lookup of %s failed", link["url"], extra={"detail": f"Bearer {admin.key}"}
    )
    client.post(
        "/v1/customers",
        data="{broken",
        headers={"Authorization": f"Bearer {admin.key}", "Content-Type": "application/json"},
    )
    logged = caplog.text + "\n".join(JsonFormatter().format(r) for r in caplog.records)
    secrets = [
        admin.key,
        checkout.key,
        helpdesk.key,
        license["key"],
        order["payment"]["client_secret"],
        headers["Stripe-Signature"],
        link["url"].split("token=")[1],
        report["url"].split("token=")[1],
        license["key"].replace("-", "").lower(),
    ]
    for secret in secrets:
        assert secret not in logged, secret
    for key in (admin.key, checkout.key):
        assert key.split("_", 2)[2] not in logged  # not even the secret part of an API key
    access = [
        json.loads(JsonFormatter().format(r))
        for r in caplog.records
        if r.name == "licensing.access"
    ]
    assert access and all(line["request_id"] and "path" not in line for line in access)
    assert {
        "/v1/licenses/<license_key:key>",
        "/v1/licenses/<license_key:key>/renewal-quote",
        "/v1/licenses/<license_key:key>/domain",
        "/quotes/<id:quote_id>",
        "/reports/renewals",
        None,
    } <= {line["route"] for line in access}


KEY = "S87FY-5CV0W-HKEKR-H9R23-9DQDG"
API_KEY = "lk_0123456789ab_Zm9vYmFy-c2VjcmV0_aGlkZGVuLXNlY3JldC1wYXJ0"
API_SECRET = API_KEY.removeprefix("lk_0123456789ab_")
TOKEN = "eyJxdW90ZSI6MSwiZXhwIjoxNzk2MDAwMDAwfQ.q1w2e3r4t5y6u7i8o9p0-AbCdEf"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"GET /v1/licenses/{KEY} HTTP/1.1", KEY),
        (f'"GET /v1/licenses/{KEY}/renewal-quote" 200', KEY),
        (f"PUT /v1/licenses/{KEY.lower()}/domain", KEY.lower()),
        (f"/v1/licenses/{KEY.replace('-', '')}", KEY.replace("-", "")),
        (f"/v1/licenses/{KEY.replace('-', ' ')}/domain", "HKEKR H9R23"),
        ("/v1/licenses/not-even-a-key", "not-even-a-key"),
        (f"the key {KEY} was typed", KEY),
        (f"the key {KEY.replace('-', '').lower()} was typed", KEY.replace("-", "").lower()),
        (f"/quotes/7?token={TOKEN}", TOKEN),
        ("/reports/renewals?from=2026-01&token=abc.def&to=2026-03", "abc.def"),
        ("key=abc&secret=def&client_secret=ghi&signature=jkl", "abc"),
        ("key=abc&secret=def&client_secret=ghi&signature=jkl", "ghi"),
        ("key=abc&secret=def&client_secret=ghi&signature=jkl", "jkl"),
        (f"a signed link's token alone: {TOKEN}", TOKEN),
        ("client_secret pi_3Nq8c2Kx_secret_Yt7uV9wQ", "Yt7uV9wQ"),
        ("STRIPE_SECRET_KEY=sk_live_51HxyzAbc", "51HxyzAbc"),
        ("keys sk_test_local rk_live_9ZyX whsec_local", "local"),
        ("keys sk_test_local rk_live_9ZyX whsec_local", "9ZyX"),
        (f"Authorization: Bearer {API_KEY}", API_KEY),
        (f"Authorization: bearer {TOKEN}", TOKEN),
        (f"presented {API_KEY}", API_SECRET),
        ("Stripe-Signature: t=1796000000,v1=" + "9f" * 32, "9f" * 32),
    ],
)
def test_redaction_removes_every_secret_by_its_pattern(text: str, secret: str) -> None:
    redacted = redact(text)
    assert secret not in redacted
    assert REDACTED in redacted


@pytest.mark.parametrize(
    "text",
    [
        "/v1/licenses/<license_key:key>/renewal-quote",
        "POST /v1/licenses/validate HTTP/1.1",
        '"POST /v1/licenses/import" 201',
        "/v1/licenses/certificate",
        "request 3f2a9c0e1b8d4e5f9a7b6c5d4e3f2a1b by key 12 (lk_0123456789ab)",
        "payment pi_3Nq8c2Kx succeeded; charge ch_3Nq8c2Kx",
        "ABCDEFGHJKMNPQRSTVWXYZ012 is 25 symbols, but its check symbol is wrong",
        "these words could match where a key would, but they are words",
    ],
)
def test_redaction_keeps_what_is_no_secret(text: str) -> None:
    assert redact(text) == text


def _record(msg: object, args: object = None) -> logging.LogRecord:
    return logging.LogRecord("licensing.test", logging.INFO, __file__, 1, msg, args, None)


def test_filter_redacts_tuple_arguments_and_keeps_their_types() -> None:
    record = _record(
        "%s %r answered %d in %.1f ms (%s)",
        (f"GET /v1/licenses/{KEY}", f"Bearer {API_KEY}", 200, 1.5, ValueError(f"key {KEY}")),
    )
    assert RedactSecrets().filter(record)
    message = record.getMessage()
    assert KEY not in message and API_SECRET not in message
    assert "answered 200 in 1.5 ms" in message
    assert "GET /v1/licenses/[redacted]" in message


def test_filter_redacts_gunicorn_access_atoms_in_place() -> None:
    """gunicorn logs its access format with a dict of atoms (SafeAtoms) as the argument."""
    atoms = SafeAtoms(
        {
            "h": "127.0.0.1",
            "t": "[29/Nov/2026:10:00:00 +0000]",
            "r": f"GET /v1/licenses/{KEY}?token={TOKEN} HTTP/1.1",
            "m": "GET",
            "U": f"/v1/licenses/{KEY}/renewal-quote",
            "q": f"token={TOKEN}",
            "s": "200",
            "b": "512",
            "D": 1234,
            "f": f"https://shop.example.com/quotes/7?token={TOKEN}",
            "a": "curl/8",
            "{authorization}i": f"Bearer {API_KEY}",
            "{x-request-id}o": "abc",
        }
    )
    formats = (
        gunicorn_config.access_log_format,
        GunicornConfig().access_log_format,  # gunicorn's default: request line and referrer
        "%(U)s?%(q)s %({Authorization}i)s",
    )
    for access_format in formats:
        record = logging.LogRecord(
            "gunicorn.access", logging.INFO, __file__, 1, access_format, (atoms,), None
        )
        assert RedactSecrets().filter(record)
        assert isinstance(record.args, SafeAtoms)  # its case-insensitive lookups still work
        message = record.getMessage()
        for secret in (KEY, TOKEN, API_SECRET):
            assert secret not in message, (access_format, message)
    ours = logging.LogRecord(
        "gunicorn.access",
        logging.INFO,
        __file__,
        1,
        gunicorn_config.access_log_format,
        (atoms,),
        None,
    ).getMessage()
    assert ours == (
        '127.0.0.1 [29/Nov/2026:10:00:00 +0000] "GET /v1/licenses/[redacted]/renewal-quote"'
        " 200 512 1234us abc"
    )


def test_filter_redacts_extra_fields_exceptions_and_stacks() -> None:
    record = _record("payment for %(order)s", ({"order": 7},))
    record.path = f"/v1/licenses/{KEY}"
    record.payment = {"client_secret": "pi_3Nq8c2Kx_secret_Yt7uV9wQ", "amount": 30000}
    record.links = [f"/quotes/7?token={TOKEN}"]
    try:
        raise LookupError(f"no license {KEY} for {API_KEY}")
    except LookupError:
        record.exc_info = sys.exc_info()
    record.stack_info = f"Stack (most recent call last):\n  fetch('/v1/licenses/{KEY}')"
    assert RedactSecrets().filter(record)
    line = JsonFormatter().format(record)
    for secret in (KEY, TOKEN, API_SECRET, "Yt7uV9wQ"):
        assert secret not in line
        assert secret not in logging.Formatter().format(record)
    entry = json.loads(line)
    assert entry["message"] == "payment for 7"
    assert entry["payment"]["amount"] == 30000
    assert "LookupError: no license [redacted]" in entry["exception"]
