"""The notice-scheduling pass: the time-based notices due now (expiring, expired, window
closing), each produced once per license and term with its owner's email (D25), over every
license whose term is in span; in lanes on PostgreSQL (`schedule`)."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, select, tuple_

from licensing.adapters.models import License
from licensing.adapters.types import UTCDateTime
from licensing.domain.licenses import LicenseStatus
from licensing.domain.notices import EXPIRED_NOTICE_WITHIN, EXPIRING_NOTICES, due_notices
from licensing.extensions import db
from licensing.services import emails
from licensing.services.notices import insert_new, license_facts
from licensing.services.transactions import commit, holds_transaction

SCHEDULE_BATCH = 2000
# On PostgreSQL a pass runs in this many lanes at once, each on its own connection: while one
# waits for the database to write its batch, another builds its next one in Python.
SCHEDULE_LANES = 2

SCHEDULED = (
    select(
        License.id,
        License.key,
        License.customer_id,
        License.edition_code,
        License.domain,
        License.status,
        License.updates_until,
    )
    .where(
        License.status == LicenseStatus.ACTIVE.value,
        tuple_(License.updates_until, License.id)
        > tuple_(bindparam("after_until", type_=UTCDateTime()), bindparam("after_id")),
        License.updates_until <= bindparam("horizon_end", type_=UTCDateTime()),
        License.id % bindparam("lanes") == bindparam("lane"),
    )
    .order_by(License.updates_until, License.id)
    .limit(SCHEDULE_BATCH)
)


def schedule(*, now: datetime) -> int:
    """Produce the time-based notices due now (expiring, expired, window closing).

    Only licenses whose `updates_until` lies in the span any such notice looks at are read:
    in batches along the `updates_until` index (the last row's instant and id start the
    next), the columns only, never every license; each notice's key names its term, so
    rerunning (on any number of machines) produces nothing twice. Each notice's email to the
    owner (D25) is written in the notice's transaction, once per notice however often this
    runs.

    On PostgreSQL the licenses are shared among `SCHEDULE_LANES` lanes by their id, each in
    a thread with its own session, committing its own batches: the app's work on one
    lane's batch and the database's on another's overlap (a pass over 1M licenses is about
    half each). A lane that fails stops the others after their batch in hand, and its error
    is raised here; what was committed stays, and the next pass does the rest. SQLite has one
    writer at a time, and a caller with a transaction open has its own writes and locks the
    lanes could neither see nor wait for: for both the pass is one lane, in the caller's
    session.
    """
    if db.engine.dialect.name != "postgresql" or holds_transaction():
        return _schedule_lane(now, lane=0, lanes=1)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    stop = threading.Event()

    def run(lane: int) -> int:
        with app.app_context():
            try:
                return _schedule_lane(now, lane=lane, lanes=SCHEDULE_LANES, stop=stop)
            except BaseException:
                stop.set()
                raise
            finally:
                db.session.remove()

    with ThreadPoolExecutor(SCHEDULE_LANES, thread_name_prefix="schedule-lane") as pool:
        lanes = [pool.submit(run, lane) for lane in range(SCHEDULE_LANES)]
        try:
            wait(lanes)
        except BaseException:  # interrupted: each lane stops after its batch in hand
            stop.set()
            raise
    return _produced(lanes)


def _produced(lanes: list[Future[int]]) -> int:
    """The notices the lanes found due; the first lane's error, naming any other's."""
    errors = [error for lane in lanes if (error := lane.exception()) is not None]
    if errors:
        for other in errors[1:]:
            errors[0].add_note(f"another scheduling lane failed too: {type(other).__name__}")
        raise errors[0]
    return sum(lane.result() for lane in lanes)


def _schedule_lane(
    now: datetime, *, lane: int, lanes: int, stop: threading.Event | None = None
) -> int:
    """The notices due for the licenses whose id is `lane` modulo `lanes`, batch by batch,
    until none is left or `stop` is set."""
    after = {
        "after_until": now - EXPIRED_NOTICE_WITHIN - timedelta(days=1),
        "after_id": 0,
        "horizon_end": now + max(EXPIRING_NOTICES),
        "lanes": lanes,
        "lane": lane,
    }
    produced = 0
    while not (stop and stop.is_set()) and (batch := db.session.execute(SCHEDULED, after).all()):
        rows = [
            {
                "type": due.type.value,
                "license_id": license.id,
                "term_key": due.term_key,
                "data": {**license_facts(license), **due.data},
                "created_at": now,
            }
            for license in batch
            for due in due_notices(license.updates_until, now)
        ]
        emails.enqueue_for_notices(insert_new(rows), now=now)
        commit()
        produced += len(rows)
        after.update(after_until=batch[-1].updates_until, after_id=batch[-1].id)
    return produced
