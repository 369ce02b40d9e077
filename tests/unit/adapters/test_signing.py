"""The signing adapter (D23): RFC 7638 key ids, the published set, key files and settings."""

from __future__ import annotations

import base64
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from licensing.adapters import signing
from licensing.settings import DEVELOPMENT_SIGNING_KEY, ConfigurationError, Settings

# RFC 8037 Appendix A.1 (the private key d) and A.3 (the thumbprint of its public key).
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_KID = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def _rfc8037_key() -> Ed25519PrivateKey:
    raw = base64.urlsafe_b64decode(RFC8037_D + "=")
    return Ed25519PrivateKey.from_private_bytes(raw)


def test_d23_kid_is_the_rfc7638_thumbprint_of_rfc8037s_example_key() -> None:
    jwk = signing.public_jwk(_rfc8037_key().public_key())
    assert (jwk.x, jwk.kid) == (RFC8037_X, RFC8037_KID)
    assert signing.thumbprint(RFC8037_X) == RFC8037_KID


def test_d23_the_current_key_comes_first_and_signs(tmp_path: Path) -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    signer = signing.Ed25519Signer(new, [old.public_key(), new.public_key()])
    kids = [jwk.kid for jwk in signer.public_keys()]
    assert kids == [
        signing.public_jwk(new.public_key()).kid,
        signing.public_jwk(old.public_key()).kid,
    ]
    token = signer.sign({"sub": "X"})
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "kid": kids[0], "typ": "JWT"}
    assert "PRIVATE" not in repr(signer) and signing.private_pem(new) not in repr(signer)


def test_d23_a_new_key_file_is_0600_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    key = signing.write_new_private_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert signing.load_private_key(path.read_text()).public_key() == key.public_key()
    with pytest.raises(FileExistsError):
        signing.write_new_private_key(path)


def test_d23_development_makes_its_key_once_and_reuses_it(tmp_path: Path) -> None:
    first = Settings.from_env({}, instance_path=tmp_path)
    path = tmp_path / DEVELOPMENT_SIGNING_KEY
    assert path.stat().st_mode & 0o777 == 0o600
    second = Settings.from_env({}, instance_path=tmp_path)
    assert first.license_signing_key == second.license_signing_key == path.read_text()
    assert first.license_signing_key not in repr(first)


def test_d23_production_refuses_to_start_without_a_signing_key(tmp_path: Path) -> None:
    environ = {
        "LICENSING_ENV": "production",
        "DATABASE_URL": "sqlite:////tmp/x.db",
        "STRIPE_SECRET_KEY": "sk",
        "STRIPE_WEBHOOK_SECRET": "wh",
        "SECRET_KEY": "s",
    }
    with pytest.raises(ConfigurationError, match="LICENSE_SIGNING_KEY"):
        Settings.from_env(environ, instance_path=tmp_path)
    assert not (tmp_path / DEVELOPMENT_SIGNING_KEY).exists()


def test_d23_a_key_given_as_a_file_or_text_is_read(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    key = signing.write_new_private_key(path)
    from_file = Settings.from_env({"LICENSE_SIGNING_KEY": f"@{path}"}, instance_path=tmp_path)
    from_text = Settings.from_env({"LICENSE_SIGNING_KEY": path.read_text()}, instance_path=tmp_path)
    assert (
        from_file.license_signing_key == from_text.license_signing_key == signing.private_pem(key)
    )


@pytest.mark.parametrize(
    "material",
    [
        "not a key",
        signing.private_pem(Ed25519PrivateKey.generate()).replace("A", "B", 3),
        signing.public_pem(Ed25519PrivateKey.generate()),
    ],
)
def test_d23_a_bad_key_names_the_setting_and_never_echoes_it(tmp_path: Path, material: str) -> None:
    with pytest.raises(ConfigurationError, match="LICENSE_SIGNING_KEY") as raised:
        Settings.from_env({"LICENSE_SIGNING_KEY": material}, instance_path=tmp_path)
    body = material.splitlines()[1] if "\n" in material else material
    assert body not in str(raised.value)


def test_d23_an_unreadable_key_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"LICENSE_SIGNING_KEY: cannot read"):
        Settings.from_env({"LICENSE_SIGNING_KEY": f"@{tmp_path / 'none.pem'}"})


def test_d23_retired_keys_are_a_file_of_public_keys_only(tmp_path: Path) -> None:
    retired = [Ed25519PrivateKey.generate() for _ in range(2)]
    path = tmp_path / "retired.pem"
    path.write_text("old keys\n" + "\n".join(signing.public_pem(key) for key in retired))
    environ = {"LICENSE_SIGNING_KEY": signing.private_pem(Ed25519PrivateKey.generate())}
    settings = Settings.from_env({**environ, "LICENSE_RETIRED_KEYS": f"@{path}"})
    assert [signing.load_public_key(pem) for pem in settings.license_retired_keys] == [
        key.public_key() for key in retired
    ]
    path.write_text(signing.private_pem(retired[0]))
    with pytest.raises(ConfigurationError, match="LICENSE_RETIRED_KEYS") as raised:
        Settings.from_env({**environ, "LICENSE_RETIRED_KEYS": f"@{path}"})
    assert signing.private_pem(retired[0]).splitlines()[1] not in str(raised.value)
    with pytest.raises(ConfigurationError, match="LICENSE_RETIRED_KEYS must be @path"):
        Settings.from_env({**environ, "LICENSE_RETIRED_KEYS": signing.public_pem(retired[0])})
