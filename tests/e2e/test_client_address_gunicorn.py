"""gunicorn's access line names the client behind a trusted proxy (FORWARDED_ALLOW_IPS), and
the socket address otherwise, whatever X-Forwarded-For says."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from tests.conftest import dispose, migrate
from tests.e2e.conftest import gunicorn


@pytest.mark.parametrize(
    ("trusted", "logged"), [("127.0.0.1", "198.51.100.1"), (None, "127.0.0.1")]
)
def test_gunicorns_access_line_shows_the_client_only_behind_a_trusted_proxy(
    tmp_path: Path, trusted: str | None, logged: str
) -> None:
    database = f"sqlite:///{tmp_path / 'proxy.db'}"
    dispose(migrate(database))
    env = {"DATABASE_URL": database, "LICENSING_ENV": "development"}
    env |= {"FORWARDED_ALLOW_IPS": trusted} if trusted else {}
    with gunicorn(tmp_path, env, "--workers", "1") as url:
        request = urllib.request.Request(
            f"{url}/healthz", headers={"X-Forwarded-For": "203.0.113.7, 198.51.100.1"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
    lines = (tmp_path / "access.log").read_text().splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == [logged]
