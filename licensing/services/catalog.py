"""The catalog: editions with their list prices (R1, D2) and the published releases (R10)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from licensing.adapters.models import Edition, Release
from licensing.adapters.pagination import Page, paginate
from licensing.domain.errors import Conflict, NotFound
from licensing.domain.money import Money
from licensing.extensions import db
from licensing.services.transactions import commit


def list_editions() -> Page[Edition]:
    """Every edition on sale (one page)."""
    editions = db.session.execute(select(Edition).order_by(Edition.priority)).scalars()
    return Page(list(editions), next_cursor=None)


def get_edition(code: str) -> Edition:
    edition = db.session.get(Edition, code)
    if edition is None:
        raise NotFound(f"There is no edition with the code {code!r}.", code="EDITION_NOT_FOUND")
    return edition


def update_edition(*, code: str, price: Money, name: str | None, now: datetime) -> Edition:
    """Change a list price; D2: existing orders and licenses keep the price they snapshotted."""
    edition = db.session.execute(
        select(Edition).where(Edition.code == code).with_for_update()
    ).scalar_one_or_none()
    if edition is None:
        raise NotFound(f"There is no edition with the code {code!r}.", code="EDITION_NOT_FOUND")
    edition.price_amount = price.amount
    edition.currency = price.currency
    if name is not None:
        edition.name = name
    edition.updated_at = now
    commit()
    return edition


def list_releases(*, limit: int, cursor: str | None) -> Page[Release]:
    """Newest first: the first item of the first page is the current release (R10)."""
    return paginate(
        select(Release),
        id_column=Release.id,
        sort_column=Release.released_at,
        descending=True,
        limit=limit,
        cursor=cursor,
    )


@dataclass(frozen=True)
class ReleaseRef:
    version: str
    released_at: datetime


def newest_release_on_or_before(until: Any, *columns: Any) -> Select[Any]:
    """D17: the newest release published on or before `until`, a value or a column (so that
    a certificate's one statement can hold it as a subquery)."""
    return (
        select(*columns)
        .where(Release.released_at <= until)
        .order_by(Release.released_at.desc(), Release.id.desc())
        .limit(1)
    )


def newest_allowed_release(updates_until: datetime) -> ReleaseRef | None:
    """D17: the newest release published on or before `updates_until`."""
    release = db.session.execute(
        newest_release_on_or_before(updates_until, Release)
    ).scalar_one_or_none()
    return ReleaseRef(release.version, release.released_at) if release is not None else None


def find_release(version: str) -> Release | None:
    return db.session.execute(
        select(Release).where(Release.version == version)
    ).scalar_one_or_none()


def create_release(*, version: str, released_at: datetime, now: datetime) -> Release:
    exists = Conflict(f"Release {version} is already published.", code="RELEASE_EXISTS")
    if find_release(version) is not None:
        raise exists
    release = Release(version=version, released_at=released_at, created_at=now)
    db.session.add(release)
    commit(on_conflict={("uq_releases_version", "releases.version"): exists})
    return release
