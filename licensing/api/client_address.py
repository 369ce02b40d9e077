"""The client's address behind trusted proxies (`FORWARDED_ALLOW_IPS`), for the rate limits
and the access logs.

Only a request whose socket peer is one of the trusted proxies has its address taken from
`X-Forwarded-For`, and then it is the right-most address that is not itself a trusted proxy
(each proxy appends the address it saw; everything left of the last untrusted hop may be
made up by the client). Any other request keeps its socket address, whatever headers it
sends. werkzeug's `ProxyFix` trusts a fixed number of hops from any peer, which is not the
same rule, hence this small middleware.

It rewrites `REMOTE_ADDR` in the WSGI environ in place, so gunicorn's access line (`%(h)s`)
shows the client too; the peer is kept in `licensing.proxy_peer`.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any

PEER = "licensing.proxy_peer"


class TrustedProxies:
    """WSGI middleware: the client address from `X-Forwarded-For`, from trusted peers only."""

    def __init__(self, app: Any, networks: Iterable[str]) -> None:
        self.app = app
        self.networks: tuple[IPv4Network | IPv6Network, ...] = tuple(
            ip_network(network, strict=False) for network in networks
        )

    def is_trusted(self, address: str) -> bool:
        try:
            parsed = ip_address(address)
        except ValueError:
            return False
        return any(parsed in network for network in self.networks)

    def client(self, peer: str, forwarded: str) -> str:
        """Walk the hops right to left while they are trusted proxies; a hop that is no
        address ends the walk at the proxy that reported it."""
        address = peer
        for hop in reversed([hop.strip() for hop in forwarded.split(",")]):
            if not self.is_trusted(address):
                return address
            try:
                address = str(ip_address(hop))
            except ValueError:
                return address
        return address

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        peer = environ.get("REMOTE_ADDR", "")
        forwarded = environ.get("HTTP_X_FORWARDED_FOR")
        if forwarded and self.is_trusted(peer):
            environ[PEER] = peer
            environ["REMOTE_ADDR"] = self.client(peer, forwarded)
        return self.app(environ, start_response)
