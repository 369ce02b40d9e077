"""Certificates from the running service (gunicorn, as `make run` starts it) verified offline
with nothing but the published JWK Set: by PyJWT, by the Python verifier, and by the PHP
class the Shop ships, run with Debian's `php` (D22, D23)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest

from licensing.verifier import verify_certificate
from tests.conftest import TEST_SIGNING_KEY, dispose, migrate
from tests.e2e.conftest import free_port, wait_for_port
from tests.factories import Api, created, import_license, make_key, new_customer

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
PHP_DRIVER = Path(__file__).with_name("php") / "verify.php"
DOMAIN = "shop.example.com"
IDN_DOMAIN = "xn--bcher-kva.example.com"  # bücher.example.com


@dataclass(frozen=True)
class Issued:
    """What a shop holds after asking the running service once."""

    certificate: str
    jwks: dict[str, Any]
    license: dict[str, Any]
    idn_certificate: str


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.loads(answer.read())


def _licenses(database: str) -> list[dict[str, Any]]:
    """Two licenses and a release, written before the server starts."""
    app = migrate(database)
    try:
        admin = Api(app.test_client(), make_key(app, "admin"))
        body = {"version": "5.0", "released_at": "2026-01-20T00:00:00Z"}
        created(admin.post("/v1/releases", json=body))
        customer = new_customer(admin)
        return [
            import_license(admin, customer_id=customer["id"], domain=domain, edition="premium")
            for domain in (DOMAIN, "bücher.example.com")
        ]
    finally:
        dispose(app)


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Issued]:
    folder = tmp_path_factory.mktemp("certificates")
    database = f"sqlite:///{folder / 'licensing.db'}"
    license, idn_license = _licenses(database)
    key_file = folder / "signing-key.pem"
    key_file.write_text(TEST_SIGNING_KEY)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "LICENSING_ENV": "development",
        "LICENSE_SIGNING_KEY": f"@{key_file}",
    }
    command = [str(GUNICORN), "-c", "python:licensing.gunicorn_config", "--workers", "1"]
    command += ["--bind", f"127.0.0.1:{port}", "wsgi:app"]
    with (folder / "server.log").open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            wait_for_port(port, timeout=30)
            url = f"http://127.0.0.1:{port}"
            ask = {"key": license["key"], "domain": f"https://www.{DOMAIN}/shop"}
            answer = _post(f"{url}/v1/licenses/certificate", ask)
            idn_ask = {"key": idn_license["key"], "domain": "www.BÜCHER.example.com"}
            idn_answer = _post(f"{url}/v1/licenses/certificate", idn_ask)
            yield Issued(
                answer["certificate"],
                _get(f"{url}/.well-known/jwks.json"),
                license,
                idn_answer["certificate"],
            )
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_d22_pyjwt_verifies_a_certificate_with_only_the_published_key_set(issued: Issued) -> None:
    key = jwt.PyJWKSet.from_dict(issued.jwks)[jwt.get_unverified_header(issued.certificate)["kid"]]
    claims = jwt.decode(
        issued.certificate,
        key,
        algorithms=["EdDSA"],
        issuer="licensing",
        options={"require": ["exp", "iat", "sub", "iss"]},
    )
    assert (claims["sub"], claims["domain"], claims["edition"]) == (
        issued.license["key"],
        DOMAIN,
        "premium",
    )
    assert claims["newest_allowed_release"] == "5.0"
    assert claims["exp"] - claims["iat"] == 30 * 86400


def test_d22_the_python_verifier_returns_what_the_license_allows(issued: Issued) -> None:
    allowed = verify_certificate(issued.certificate, issued.jwks, "WWW.Shop.Example.com.")
    assert (allowed.edition, allowed.updates_until.isoformat()) == (
        "premium",
        "2027-01-15T10:00:00+00:00",
    )
    assert allowed.newest_allowed_release == "5.0"


# The PHP verifier the Shop ships.


def _php() -> str:
    """Debian's php-cli; `.ci/run` installs it. Missing under CI is a failure, not a skip."""
    php = shutil.which("php")
    if php is None:
        if os.environ.get("CI"):
            pytest.fail("php is not installed (.ci/run installs php-cli with apt-get)")
        pytest.skip("php is not installed (.ci/run installs php-cli with apt-get)")
    return php


def php_verify(certificate: str, jwks: Any, domain: str, now: int | None = None) -> dict:
    body = {"certificate": certificate, "jwks": jwks, "domain": domain, "now": now}
    result = subprocess.run(
        [_php(), str(PHP_DRIVER)],
        input=json.dumps(body),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _claims(certificate: str) -> dict[str, Any]:
    return jwt.decode(certificate, options={"verify_signature": False})


def test_d22_php_accepts_a_good_certificate_and_returns_what_it_allows(issued: Issued) -> None:
    answer = php_verify(issued.certificate, issued.jwks, "https://WWW.shop.example.com/")
    assert answer["ok"] is True, answer
    claims = _claims(issued.certificate)
    assert answer["allowed"] == {
        "license_key": issued.license["key"],
        "domain": DOMAIN,
        "edition": "premium",
        "support_until": issued.license["support_until"],
        "updates_until": issued.license["updates_until"],
        "newest_allowed_release": "5.0",
        "expires_at": claims["exp"],
        "kid": issued.jwks["keys"][0]["kid"],
    }


def test_d22_php_refuses_an_expired_certificate(issued: Issued) -> None:
    exp = _claims(issued.certificate)["exp"]
    assert php_verify(issued.certificate, issued.jwks, DOMAIN, now=exp - 1)["ok"] is True
    answer = php_verify(issued.certificate, issued.jwks, DOMAIN, now=exp)
    assert (answer["ok"], answer["reason"]) == (False, "EXPIRED")


def test_d22_php_refuses_a_tampered_certificate(issued: Issued) -> None:
    header, payload, signature = issued.certificate.split(".")
    claims = _claims(issued.certificate) | {"edition": "premium", "domain": "evil.example.com"}
    forged = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    for certificate in (f"{header}.{forged}.{signature}", f"{header}.{payload}.{flipped}"):
        answer = php_verify(certificate, issued.jwks, "evil.example.com")
        assert (answer["ok"], answer["reason"]) == (False, "SIGNATURE_INVALID")
    answer = php_verify(f"{header}.{payload}", issued.jwks, DOMAIN)
    assert (answer["ok"], answer["reason"]) == (False, "MALFORMED")


def test_d23_php_refuses_a_certificate_of_a_key_not_published(issued: Issued) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from licensing.adapters.signing import Ed25519Signer, public_jwk

    other = Ed25519PrivateKey.generate()
    # Signed by another key that claims the published kid: the signature fails.
    impostor = jwt.encode(
        _claims(issued.certificate),
        other,
        algorithm="EdDSA",
        headers={"kid": issued.jwks["keys"][0]["kid"]},
    )
    answer = php_verify(impostor, issued.jwks, DOMAIN)
    assert (answer["ok"], answer["reason"]) == (False, "SIGNATURE_INVALID")
    # Signed by another key under its own kid: no published key has it.
    foreign = Ed25519Signer(other).sign(_claims(issued.certificate))
    answer = php_verify(foreign, issued.jwks, DOMAIN)
    assert (answer["ok"], answer["reason"]) == (False, "KEY_UNKNOWN")
    # The genuine certificate against a set that lacks its key.
    other_set = {"keys": [public_jwk(other.public_key()).__dict__]}
    answer = php_verify(issued.certificate, other_set, DOMAIN)
    assert (answer["ok"], answer["reason"]) == (False, "KEY_UNKNOWN")


def test_d22_php_refuses_another_domain(issued: Issued) -> None:
    for domain in ("other.example.com", "shop.example.com.evil.com", "example.com"):
        answer = php_verify(issued.certificate, issued.jwks, domain)
        assert (answer["ok"], answer["reason"]) == (False, "DOMAIN_MISMATCH"), domain


def test_d22_php_normalizes_an_idn_domain_as_the_service_does(issued: Issued) -> None:
    assert _claims(issued.idn_certificate)["domain"] == IDN_DOMAIN
    answer = php_verify(
        issued.idn_certificate, issued.jwks, "https://www.XN--BCHER-KVA.example.com"
    )
    assert answer["ok"] is True, answer
    modules = subprocess.run([_php(), "-m"], capture_output=True, text=True, check=True).stdout
    unicode_answer = php_verify(issued.idn_certificate, issued.jwks, "www.bücher.example.com")
    if "intl" in modules.split():
        assert unicode_answer["ok"] is True, unicode_answer
    else:  # documented in clients/php/README.md: pass the xn-- form without intl
        assert unicode_answer["reason"] == "DOMAIN_UNSUPPORTED"


def _self_signed(claims: dict[str, Any], **headers: Any) -> tuple[str, dict[str, Any]]:
    """The claims signed by a fresh key under its own kid, and a JWK Set publishing it."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from licensing.adapters.signing import public_jwk

    key = Ed25519PrivateKey.generate()
    jwk = public_jwk(key.public_key())
    token = jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": jwk.kid, **headers})
    return token, {"keys": [jwk.__dict__]}


def test_d22_the_python_verifier_refuses_a_time_claim_that_is_not_an_integer(
    issued: Issued,
) -> None:
    from licensing.verifier import CertificateRejected

    claims = _claims(issued.certificate)
    for bad in ({"exp": "2999-01-01"}, {"exp": 1e300}, {"exp": True}, {"iat": "now"}):
        certificate, jwks = _self_signed(claims | bad)
        with pytest.raises(CertificateRejected) as rejected:
            verify_certificate(certificate, jwks, DOMAIN)
        assert rejected.value.code == "MALFORMED", bad
    certificate, jwks = _self_signed(claims | {"support_until": 5})
    with pytest.raises(CertificateRejected):
        verify_certificate(certificate, jwks, DOMAIN)


def test_d22_php_refuses_a_certificate_with_a_crit_header(issued: Issued) -> None:
    """RFC 7515 §4.1.11: extensions named in `crit` must be understood; none are here."""
    from licensing.verifier import CertificateRejected

    claims = _claims(issued.certificate)
    certificate, jwks = _self_signed(claims)
    assert php_verify(certificate, jwks, DOMAIN)["ok"] is True
    certificate, jwks = _self_signed(claims, crit=["exp"])
    answer = php_verify(certificate, jwks, DOMAIN)
    assert (answer["ok"], answer["reason"]) == (False, "MALFORMED"), answer
    with pytest.raises(CertificateRejected, match="MALFORMED"):  # as the Python one does
        verify_certificate(certificate, jwks, DOMAIN)
