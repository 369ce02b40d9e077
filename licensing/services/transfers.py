"""Transferring a license to another customer account, as when a site is sold (D21)."""

from __future__ import annotations

from datetime import datetime

from licensing.adapters.models import License
from licensing.adapters.models.licenses import TRANSFERRED
from licensing.domain.errors import Conflict
from licensing.domain.licenses import LIVE_STATUSES
from licensing.services.accounts import named_customer
from licensing.services.licenses import find_license, record_event
from licensing.services.transactions import commit


def transfer_license(
    *, key: str, customer_id: int, note: str, actor: str, now: datetime
) -> License:
    """D21: staff give a live license to another customer from `now` on. Its history names
    both owners, the note and who did it; no date moves (the support window of R4 does not
    start again), and the channel and partner stay: a partner-sold license is still its
    partner's to support (R3, R9). Owner-facing reads and the helpdesk follow the new owner
    from `now`; an entitlement asked for an earlier `at` still answers for the old one."""
    license = find_license(key, lock=True)
    named_customer(customer_id)
    if license.customer_id == customer_id:
        raise Conflict(
            f"The customer {customer_id} already owns this license.", code="ALREADY_OWNER"
        )
    if license.status not in LIVE_STATUSES:
        raise Conflict(
            f"The license is {license.status}; only a live license can be transferred.",
            code="LICENSE_INACTIVE",
        )
    previous, license.customer_id = license.customer_id, customer_id
    record_event(
        license,
        TRANSFERRED,
        actor=actor,
        at=now,
        from_customer_id=previous,
        to_customer_id=customer_id,
        note=note,
    )
    commit()
    return license
