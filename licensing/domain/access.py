"""Who is calling and what their API key's scopes let them do (contract: Authentication)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ADMIN = "admin"
CHECKOUT = "checkout"
HELPDESK = "helpdesk"
FINANCE = "finance"
METRICS = "metrics"  # reads /metrics and nothing else
ANY_PARTNER = "partner:*"
PARTNER_PREFIX = "partner:"

FIXED_SCOPES = frozenset({ADMIN, CHECKOUT, HELPDESK, FINANCE, METRICS})
_PARTNER_SCOPE = re.compile(r"partner:[1-9][0-9]{0,17}")


def is_valid_scope(scope: str) -> bool:
    """A key's scope is one of the fixed ones or `partner:<partner_id>`."""
    return scope in FIXED_SCOPES or _PARTNER_SCOPE.fullmatch(scope) is not None


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the API key's name and scopes."""

    key_id: int
    name: str
    scopes: frozenset[str]

    @property
    def actor(self) -> str:
        """How history records this caller."""
        return f"api_key:{self.key_id}:{self.name}"

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.scopes

    @property
    def partner_id(self) -> int | None:
        """The partner a partner key acts for (None for vendor keys)."""
        for scope in sorted(self.scopes):
            if scope.startswith(PARTNER_PREFIX):
                return int(scope.removeprefix(PARTNER_PREFIX))
        return None

    @property
    def partner_in_sight(self) -> int | None:
        """The partner whose records alone this caller sees and acts on (D26); None for a
        vendor key, and for any key holding `admin`, which see everything."""
        return None if self.is_admin else self.partner_id

    def may(self, required: Iterable[str], path_args: Mapping[str, object]) -> bool:
        """True when one of the route's scopes is held; `admin` may do everything.

        A required scope may name a path argument (`partner:{partner_id}`) or any partner
        (`partner:*`, for routes that then show a partner only its own records).
        """
        if self.is_admin:
            return True
        for scope in required:
            if scope == ANY_PARTNER and self.partner_id is not None:
                return True
            if scope.format_map(_Args(path_args)) in self.scopes:
                return True
        return False


def customer_in_sight(customer_partner_id: int | None, *, partner_id: int | None) -> bool:
    """D26: a partner acts only on the customers created with its key; a vendor key
    (`partner_id` None) on every customer."""
    return partner_id is None or customer_partner_id == partner_id


class _Args(dict[str, object]):
    def __init__(self, values: Mapping[str, object]) -> None:
        super().__init__(values)

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
