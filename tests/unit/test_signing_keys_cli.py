"""`licensing signing-keys`: new key files, public halves, and no private key printed (D23)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from licensing.adapters import signing
from licensing.console import cli


@pytest.fixture
def production_without_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Production with none of its secrets: the service could not start, the commands can."""
    monkeypatch.setenv("LICENSING_ENV", "production")
    for name in ("DATABASE_URL", "SECRET_KEY", "LICENSE_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_d23_generate_writes_a_0600_key_and_prints_only_its_public_half(
    tmp_path: Path, production_without_settings: None
) -> None:
    path = tmp_path / "signing-key.pem"
    result = CliRunner().invoke(cli, ["signing-keys", "generate", str(path)])
    assert result.exit_code == 0, result.output
    key = signing.load_private_key(path.read_text())
    assert path.stat().st_mode & 0o777 == 0o600
    lines = result.output.splitlines()
    assert lines[1] == f"kid: {signing.public_jwk(key.public_key()).kid}"
    assert "\n".join(lines[2:]) + "\n" == signing.public_pem(key)
    assert "PRIVATE" not in result.output
    assert "".join(path.read_text().splitlines()[1:-1]) not in result.output


def test_d23_generate_never_overwrites_a_key(tmp_path: Path) -> None:
    path = tmp_path / "signing-key.pem"
    path.write_text("in use")
    result = CliRunner().invoke(cli, ["signing-keys", "generate", str(path)])
    assert result.exit_code != 0 and "never overwritten" in result.output
    assert path.read_text() == "in use"
    assert [p.name for p in tmp_path.iterdir()] == ["signing-key.pem"]  # no file left aside


def test_d23_public_prints_the_public_half_for_the_retired_file(tmp_path: Path) -> None:
    path = tmp_path / "old.pem"
    key = signing.write_new_private_key(path)
    result = CliRunner().invoke(cli, ["signing-keys", "public", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.endswith(signing.public_pem(key)) and "PRIVATE" not in result.output
    path.write_text("garbage")
    result = CliRunner().invoke(cli, ["signing-keys", "public", str(path)])
    assert result.exit_code != 0 and "does not hold a PEM Ed25519 private key" in result.output
