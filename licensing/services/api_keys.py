"""API keys: created once and shown once, stored as a hash, revoked but never deleted."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import ColumnElement, bindparam, exists, select

from licensing.adapters.models import ApiKey
from licensing.domain.access import Principal, is_valid_scope
from licensing.domain.errors import Invalid, NotFound, Unauthenticated
from licensing.extensions import db
from licensing.services.transactions import commit

PREFIX = "lk"


def _hash(secret: str) -> str:
    # The secret carries 256 random bits, so a fast hash is enough; a slow KDF adds nothing.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(*, name: str, scopes: list[str], now: datetime) -> tuple[ApiKey, str]:
    """Store a new key and return it with its plain text, which is never stored or shown again."""
    name = name.strip()
    if not name or len(name) > 100:
        raise Invalid.field("name", "A name of 1 to 100 characters is required.")
    unknown = [scope for scope in scopes if not is_valid_scope(scope)]
    if not scopes or unknown:
        raise Invalid.field(
            "scopes",
            "Scopes must be admin, checkout, helpdesk, finance, metrics or partner:<id>; "
            + (
                f"the service does not know {', '.join(unknown)}." if unknown else "none was given."
            ),
        )
    public_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        public_id=public_id,
        name=name,
        secret_hash=_hash(secret),
        scopes=sorted(set(scopes)),
        created_at=now,
    )
    db.session.add(key)
    commit()
    return key, f"{PREFIX}_{public_id}_{secret}"


ACTIVE_KEY = select(ApiKey.id, ApiKey.name, ApiKey.secret_hash, ApiKey.scopes).where(
    ApiKey.public_id == bindparam("public_id"), ApiKey.revoked_at.is_(None)
)


def authenticate(token: str) -> Principal | None:
    """The principal of a presented key, or None when it is unknown, malformed or revoked."""
    prefix, _, rest = token.partition("_")
    public_id, _, secret = rest.partition("_")
    if prefix != PREFIX or not public_id or not secret:
        return None
    key = db.session.execute(ACTIVE_KEY, {"public_id": public_id}).one_or_none()
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(secret)):
        return None
    principal = Principal(key_id=key.id, name=key.name, scopes=frozenset(key.scopes))
    if len(_SEEN) >= _SEEN_AT_MOST:
        _SEEN.clear()
    _SEEN[public_id] = (key.secret_hash, principal)
    return principal


# Keys this process has authenticated, by public id: (secret hash, principal). A key's name
# and scopes never change; only its revocation does, which is why a remembered key is
# never trusted alone: the statement of the view that uses it confirms it (`key_is_active`).
_SEEN: dict[str, tuple[str, Principal]] = {}
_SEEN_AT_MOST = 10_000


def remembered(token: str) -> Principal | None:
    """The principal of a key this process authenticated before, without a database read;
    the caller must confirm it is still active in its own statement (`key_is_active`)."""
    _, _, rest = token.partition("_")
    public_id, _, secret = rest.partition("_")
    seen = _SEEN.get(public_id)
    if seen is None or not hmac.compare_digest(seen[0], _hash(secret)):
        return None
    return seen[1]


def key_is_active() -> ColumnElement[bool]:
    """A column for a hot path's statement: whether the key `:key_id` is still unrevoked,
    so a revocation shows on every worker's next request without a statement of its own."""
    return exists().where(ApiKey.id == bindparam("key_id"), ApiKey.revoked_at.is_(None))


KEY_IS_ACTIVE = select(key_is_active())


def confirm(key_id: int | None, active: bool | None = None) -> None:
    """401 for a remembered key found revoked (`active`, or read now when not given)."""
    if key_id is None:
        return
    if active is None:
        active = bool(db.session.execute(KEY_IS_ACTIVE, {"key_id": key_id}).scalar())
    if not active:
        for public_id, (_, principal) in list(_SEEN.items()):
            if principal.key_id == key_id:
                _SEEN.pop(public_id, None)
        raise Unauthenticated("A valid API key is required: this one has been revoked.")


def revoke_api_key(*, public_id: str, now: datetime) -> ApiKey:
    key = db.session.execute(
        select(ApiKey).where(ApiKey.public_id == public_id).with_for_update()
    ).scalar_one_or_none()
    if key is None:
        raise NotFound(
            f"There is no API key with the public id {public_id}.", code="API_KEY_NOT_FOUND"
        )
    if key.revoked_at is None:
        key.revoked_at = now
    commit()
    return key


def list_api_keys() -> list[ApiKey]:
    return list(db.session.execute(select(ApiKey).order_by(ApiKey.id)).scalars())
