"""FORWARDED_ALLOW_IPS: the client's address comes from X-Forwarded-For only when the socket
peer is a trusted proxy; by default, and from any other peer, it is the socket address. The
rate limit of `validate` and the access log both use it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from licensing import create_app
from licensing.api.client_address import TrustedProxies
from licensing.settings import ConfigurationError, Settings
from tests.conftest import Backend, dispose, settings_for

PROXY = "10.0.0.5"


def serving(backend: Backend, proxies: tuple[str, ...]) -> Flask:
    """The test's database behind an app limiting `validate` to 2 calls a minute."""
    url = backend.app.config["SQLALCHEMY_DATABASE_URI"]
    return create_app(
        settings_for(url, validate_rate_limit="2/minute", forwarded_allow_ips=proxies)
    )


@pytest.fixture
def make_app(backend: Backend) -> Iterator[Callable[..., Flask]]:
    made: list[Flask] = []

    def make(*proxies: str) -> Flask:
        made.append(serving(backend, proxies))
        return made[-1]

    yield make
    for app in made:
        dispose(app)


def validate(app: Flask, n: int, *, peer: str, forwarded: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    answer = app.test_client().post(
        "/v1/licenses/validate",
        json={"key": f"KEY-{n}", "domain": "shop.example.com"},
        headers=headers,
        environ_base={"REMOTE_ADDR": peer},
    )
    return answer.status_code


def test_by_default_x_forwarded_for_is_ignored_and_the_socket_address_limited(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app()
    assert validate(app, 1, peer=PROXY, forwarded="198.51.100.1") == 200
    assert validate(app, 2, peer=PROXY, forwarded="198.51.100.2") == 200
    assert validate(app, 3, peer=PROXY, forwarded="198.51.100.3") == 429  # one client: the peer


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(PROXY)
    for n in range(2):
        assert validate(app, n, peer=PROXY, forwarded="198.51.100.1") == 200
    assert validate(app, 3, peer=PROXY, forwarded="198.51.100.1") == 429
    assert validate(app, 4, peer=PROXY, forwarded="198.51.100.2") == 200  # another client
    # Made-up addresses left of the proxy's own entry change nothing: the right-most counts.
    assert validate(app, 5, peer=PROXY, forwarded="203.0.113.9, 198.51.100.1") == 429


def test_a_spoofed_x_forwarded_for_from_an_untrusted_peer_is_ignored(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(PROXY)
    for n in range(2):
        assert validate(app, n, peer="192.0.2.7", forwarded=f"198.51.100.{n}") == 200
    assert validate(app, 3, peer="192.0.2.7", forwarded="198.51.100.77") == 429


def test_the_access_log_names_the_forwarded_client_only_behind_a_trusted_proxy(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    trusting = make_app(PROXY)
    with caplog.at_level(logging.INFO, logger="licensing.access"):
        for peer in (PROXY, "192.0.2.7"):
            trusting.test_client().get(
                "/healthz",
                headers={"X-Forwarded-For": "198.51.100.1"},
                environ_base={"REMOTE_ADDR": peer},
            )
    clients = [r.client for r in caplog.records if r.name == "licensing.access"]  # type: ignore[attr-defined]
    assert clients == ["198.51.100.1", "192.0.2.7"]


@pytest.mark.parametrize(
    ("forwarded", "client"),
    [
        ("198.51.100.1", "198.51.100.1"),
        ("198.51.100.1, 10.0.0.9", "198.51.100.1"),  # a second proxy inside 10.0.0.0/8
        ("203.0.113.1, 198.51.100.1, 10.0.0.9", "198.51.100.1"),
        ("10.0.0.8, 10.0.0.9", "10.0.0.8"),  # only proxies: the left-most
        ("not-an-address, 10.0.0.9", "10.0.0.9"),  # garbage ends at the proxy reporting it
        ("", PROXY),
        ("2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_client_is_the_right_most_hop_that_is_not_a_trusted_proxy(
    forwarded: str, client: str
) -> None:
    proxies = TrustedProxies(app=None, networks=["10.0.0.0/8", "::1"])
    assert proxies.client(PROXY, forwarded) == client


def test_forwarded_allow_ips_takes_addresses_and_networks_and_refuses_the_rest() -> None:
    settings = Settings.from_env({"FORWARDED_ALLOW_IPS": "127.0.0.1, 10.0.0.0/8,::1"})
    assert settings.forwarded_allow_ips == ("127.0.0.1", "10.0.0.0/8", "::1")
    assert Settings.from_env({}).forwarded_allow_ips == ()
    with pytest.raises(ConfigurationError, match="FORWARDED_ALLOW_IPS"):
        Settings.from_env({"FORWARDED_ALLOW_IPS": "proxy.example.com"})
