"""D21 in SQL: who owned a license at an instant, read from its `transferred` history lines.

A license's `customer_id` is its owner now. Its owner at an earlier instant is the previous
owner named by its first transfer after that instant, or `customer_id` when none came after.
Both expressions below reach `license_events` only through the partial indexes on transfers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    func,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import FunctionElement

from licensing.adapters.models import License, LicenseEvent
from licensing.adapters.models.licenses import TRANSFERRED


class TransferredFrom(FunctionElement[int]):
    """The previous owner a `transferred` line names (`data.from_customer_id`)."""

    type = BigInteger()
    inherit_cache = True
    name = "transferred_from"


@compiles(TransferredFrom)  # SQLite's JSON1 (and any other dialect with json_extract)
def _from_customer(element: TransferredFrom, compiler: Any, **kw: Any) -> str:
    return f"json_extract({compiler.process(element.clauses, **kw)}, '$.from_customer_id')"


@compiles(TransferredFrom, "postgresql")
def _from_customer_postgresql(element: TransferredFrom, compiler: Any, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)} ->> 'from_customer_id') AS BIGINT)"


def _is_transfer(event: Any) -> ColumnElement[bool]:
    # A literal, not a bound value, so that the partial indexes' predicate is seen to hold.
    return event.type == literal_column(f"'{TRANSFERRED}'")


def owner_at(license: Any, at: ColumnElement[Any]) -> ColumnElement[int]:
    """D21: the owner of `license` (the table or an alias of it) at the instant `at`; a
    transfer made at `at` itself already counts."""
    event = aliased(LicenseEvent)
    previous_owner = (
        select(TransferredFrom(event.data))
        .where(event.license_id == license.id, _is_transfer(event), event.at > at)
        .order_by(event.at, event.id)
        .limit(1)
        .correlate(license)
        .scalar_subquery()
    )
    return func.coalesce(previous_owner, license.customer_id)


def ownership_candidates(
    customer_id: ColumnElement[Any], at: ColumnElement[Any]
) -> tuple[Select[Any], Select[Any]]:
    """The ids of the licenses `customer_id` may have owned at `at`: those they own now, and
    those a transfer after `at` took from them. Each is found through an index; whether the
    customer did own one at `at` is `owner_at(...) == customer_id`."""
    owned_now = aliased(License)
    event = aliased(LicenseEvent)
    return (
        select(owned_now.id).where(owned_now.customer_id == customer_id),
        select(event.license_id).where(
            _is_transfer(event), event.at > at, TransferredFrom(event.data) == customer_id
        ),
    )


def owned_at(customer_id: ColumnElement[Any], at: ColumnElement[Any]) -> ColumnElement[bool]:
    """D21: a condition on `License`: `customer_id` owned the license at `at`."""
    candidates = union_all(*ownership_candidates(customer_id, at))
    return and_(License.id.in_(candidates), owner_at(License, at) == customer_id)
