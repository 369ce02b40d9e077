"""Setting, lifting and listing bans (R13, D11); each lands on the customer's history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from licensing.adapters.models import Ban, CustomerEvent
from licensing.adapters.pagination import Page
from licensing.domain.bans import BanReason
from licensing.domain.errors import Conflict, Invalid, NotFound
from licensing.domain.periods import rfc3339_or_none
from licensing.extensions import db
from licensing.services.accounts import get_customer, named_customer
from licensing.services.transactions import commit


@dataclass(frozen=True)
class BanView:
    """A ban as it is shown: from when, up to when, whether it was lifted, who set it (D11)."""

    id: int
    customer_id: int
    reason: str
    note: str
    starts_at: datetime
    ends_at: datetime | None
    lifted_at: datetime | None
    set_by: str


def ban_view(ban: Ban) -> BanView:
    return BanView(
        id=ban.id,
        customer_id=ban.customer_id,
        reason=ban.reason,
        note=ban.note,
        starts_at=ban.starts_at,
        ends_at=ban.ends_at,
        lifted_at=ban.lifted_at,
        set_by=ban.set_by,
    )


def _record(customer_id: int, event_type: str, *, actor: str, at: datetime, **data: Any) -> None:
    db.session.add(
        CustomerEvent(customer_id=customer_id, type=event_type, actor=actor, at=at, data=data)
    )


def set_ban(
    *,
    customer_id: int,
    reason: BanReason | str,
    note: str,
    ends_at: datetime | None,
    actor: str,
    now: datetime,
) -> BanView:
    """R13: from now, until `ends_at` or until lifted (D11)."""
    named_customer(customer_id)
    if ends_at is not None and ends_at <= now:
        raise Invalid.field("ends_at", "A ban must end after it starts, and it starts now.")
    ban = Ban(
        customer_id=customer_id,
        reason=BanReason(reason).value,
        note=note,
        set_by=actor,
        starts_at=now,
        ends_at=ends_at,
    )
    db.session.add(ban)
    db.session.flush()
    _record(
        customer_id,
        "ban_set",
        actor=actor,
        at=now,
        ban_id=ban.id,
        reason=ban.reason,
        ends_at=rfc3339_or_none(ends_at),
    )
    commit()
    return ban_view(ban)


def lift_ban(ban_id: int, *, actor: str, now: datetime) -> BanView:
    """D11: the ban stops applying at this instant; it stays on record."""
    ban = db.session.get(Ban, ban_id, with_for_update=True)
    if ban is None:
        raise NotFound(f"There is no ban with the id {ban_id}.", code="BAN_NOT_FOUND")
    if ban.lifted_at is not None:
        raise Conflict("This ban has already been lifted.", code="BAN_ALREADY_LIFTED")
    ban.lifted_at, ban.lifted_by = now, actor
    _record(ban.customer_id, "ban_lifted", actor=actor, at=now, ban_id=ban.id)
    commit()
    return ban_view(ban)


def customer_bans(customer_id: int) -> Page[BanView]:
    """Every ban of a customer, newest first, ended and lifted ones included (one page)."""
    get_customer(customer_id)
    found = db.session.execute(
        select(Ban)
        .where(Ban.customer_id == customer_id)
        .order_by(Ban.starts_at.desc(), Ban.id.desc())
    ).scalars()
    return Page([ban_view(ban) for ban in found], next_cursor=None)
