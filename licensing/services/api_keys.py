"""API keys: created once and shown once, stored as a hash, revoked but never deleted."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import bindparam, select

from licensing.adapters.models import ApiKey
from licensing.domain.access import Principal, is_valid_scope
from licensing.domain.errors import Invalid, NotFound
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
    return Principal(key_id=key.id, name=key.name, scopes=frozenset(key.scopes))


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
