"""Signing keys rotate (D23) and the private key never leaves the configuration, on both DBs."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from flask import Flask

from licensing import create_app
from licensing.adapters import signing
from licensing.extensions import db
from licensing.logs import JsonFormatter
from licensing.settings import Settings
from licensing.verifier import CertificateRejected, verify_certificate
from tests.conftest import TEST_SIGNING_KEY, dispose
from tests.factories import Api, import_license, new_customer, ok

DOMAIN = "rotate.example.com"


@pytest.fixture
def license_key(admin: Api) -> str:
    customer = new_customer(admin)
    license = import_license(
        admin, customer_id=customer["id"], domain=DOMAIN, purchased_at="2026-01-10T08:00:00Z"
    )
    return license["key"]


def certificate(app: Flask, key: str) -> str:
    body = ok(
        app.test_client().post("/v1/licenses/certificate", json={"key": key, "domain": DOMAIN})
    )
    return body["certificate"]


def published(app: Flask) -> dict:
    return ok(app.test_client().get("/.well-known/jwks.json"))


def app_with(app: Flask, environ: dict[str, str], tmp_path: Path) -> Flask:
    """The same database, configured from these signing-key settings as an operator would."""
    settings = Settings.from_env(environ, instance_path=tmp_path).replace(
        database_url=app.config["SQLALCHEMY_DATABASE_URI"], validate_rate_limit="off"
    )
    return create_app(settings)


def cli(app: Flask, *args: str) -> list[str]:
    result = app.test_cli_runner().invoke(args=["signing-keys", *args])
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def test_d23_rotation_keeps_old_certificates_verifiable_and_signs_with_the_new_key(
    app: Flask, license_key: str, tmp_path: Path
) -> None:
    old_certificate = certificate(app, license_key)
    (old_kid,) = [jwk["kid"] for jwk in published(app)["keys"]]
    # 1. generate the next key; 2. publish it (retired-next) while the old one still signs.
    new_path, old_path = tmp_path / "next.pem", tmp_path / "current.pem"
    printed = cli(app, "generate", str(new_path))
    new_kid = printed[1].removeprefix("kid: ")
    assert "PRIVATE" not in "\n".join(printed)
    old_path.write_text(TEST_SIGNING_KEY)
    next_file = tmp_path / "next-public.pem"
    next_file.write_text("\n".join(printed[2:]) + "\n")
    before = app_with(
        app,
        {"LICENSE_SIGNING_KEY": f"@{old_path}", "LICENSE_RETIRED_KEYS": f"@{next_file}"},
        tmp_path,
    )
    assert [jwk["kid"] for jwk in published(before)["keys"]] == [old_kid, new_kid]
    dispose(before)
    # 3. switch: the new key signs, the old public key is published as retired.
    retired_file = tmp_path / "retired.pem"
    retired_file.write_text("\n".join(cli(app, "public", str(old_path))[2:]) + "\n")
    after = app_with(
        app,
        {"LICENSE_SIGNING_KEY": f"@{new_path}", "LICENSE_RETIRED_KEYS": f"@{retired_file}"},
        tmp_path,
    )
    try:
        keys = published(after)
        assert [jwk["kid"] for jwk in keys["keys"]] == [new_kid, old_kid]
        assert verify_certificate(old_certificate, keys, DOMAIN).kid == old_kid
        assert (
            jwt.decode(
                old_certificate, jwt.PyJWKSet.from_dict(keys)[old_kid], algorithms=["EdDSA"]
            )["sub"]
            == license_key
        )
        new_certificate = certificate(after, license_key)
        assert jwt.get_unverified_header(new_certificate)["kid"] == new_kid
        assert verify_certificate(new_certificate, keys, DOMAIN).kid == new_kid
        # A shop holding only the set from before the new key was published cannot verify it.
        with pytest.raises(CertificateRejected) as rejected:
            verify_certificate(new_certificate, {"keys": [keys["keys"][1]]}, DOMAIN)
        assert rejected.value.code == "KEY_UNKNOWN"
    finally:
        dispose(after)


def _forms_of(private_pem: str) -> list[str]:
    """Every way the private key could be written: PEM body, and the raw seed as base64url,
    base64 and hex."""
    key = signing.load_private_key(private_pem)
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    body = "".join(private_pem.strip().splitlines()[1:-1])
    return [
        body,
        base64.urlsafe_b64encode(raw).rstrip(b"=").decode(),
        base64.b64encode(raw).rstrip(b"=").decode(),
        raw.hex(),
        raw.hex().upper(),
    ]


def _database_dump(app: Flask) -> str:
    with app.app_context():
        lines = []
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(sa.select(table)):
                lines.append(f"{table.name}: {tuple(row)!r}")
        db.session.rollback()
        names = sa.inspect(db.engine).get_table_names()
        assert {table.name for table in db.metadata.sorted_tables} <= set(names)
        return "\n".join(lines)


def test_d23_the_private_key_is_in_no_row_log_answer_or_document(
    app: Flask,
    admin: Api,
    license_key: str,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    answers = []
    for domain in (DOMAIN, "other.example.com", "not a domain"):
        body = {"key": license_key, "domain": domain}
        answers.append(client.post("/v1/licenses/certificate", json=body).get_data(as_text=True))
    for path in ("/v1/signing-keys", "/.well-known/jwks.json", "/v1/openapi.json"):
        answers.append(client.get(path).get_data(as_text=True))
    answers.append(admin.get(f"/v1/licenses/{license_key}").get_data(as_text=True))
    dump = _database_dump(app)
    out, err = capfd.readouterr()
    places = {
        "database": dump,
        "log": "\n".join(
            [caplog.text, out, err, *(JsonFormatter().format(r) for r in caplog.records)]
        ),
        "answers": "\n".join(answers),
    }
    forms = _forms_of(app.config["SETTINGS"].license_signing_key)
    public_x = published(app)["keys"][0]["x"]
    assert license_key in places["database"] and "/v1/licenses/certificate" in places["log"]
    assert public_x in places["answers"]  # the scan finds key material that is shown
    for place, text in places.items():
        for form in forms:
            assert form not in text, f"the private key is in the {place}"
