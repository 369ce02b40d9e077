"""The production topology on this one machine (scripts/cluster.py), driven through nginx
while an app node and a worker are SIGKILLed mid-run.

Purchases and renewals are paid through the local Stripe, whose webhooks reach the nodes
through nginx; licenses close to their end make `subscription.expiring` notices come due,
which the workers schedule and deliver to a subscriber endpoint run here. Afterwards, on
the primary: every paid order has exactly one license, every notice reached the subscriber
exactly once; the validate rate limit held across both nodes (Redis); a report was read on
the replica (its connection, named by `application_name`, is on the replica only).
Missing binaries skip it on a workstation and fail it under CI (`CI` set, as `.ci/run` does).
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import stripe
from dateutil.relativedelta import relativedelta

from licensing.adapters.replica import REPORT_APPLICATION
from scripts.cluster import STRIPE_KEY, Cluster
from scripts.cluster_pg import MissingBinary, pg_bin
from scripts.cluster_procs import need
from tests.e2e.test_stripe_checkout import CARD_OK, pay
from tests.subscribers import SECRET, Receiver

RATE_LIMIT = 30  # validate calls per hour per client, shared by both nodes through Redis
PURCHASES, RENEWALS, EXPIRING = 12, 4, 4


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    try:
        for program in ("initdb", "pg_ctl", "pg_basebackup"):
            pg_bin(program)
        for program in ("redis-server", "nginx"):
            need(program)
    except MissingBinary as missing:
        if os.environ.get("CI"):
            pytest.fail(f"the cluster test cannot run here: {missing}")
        pytest.skip(f"the cluster test needs {missing}")
    settings = {
        "VALIDATE_RATE_LIMIT": f"{RATE_LIMIT}/hour",
        "WORKER_EVENTS_SCHEDULE_SECONDS": "2",
        "WORKER_EVENTS_DELIVER_SECONDS": "1",
    }
    with Cluster(env=settings) as running:
        yield running


class Through:
    """HTTP calls through nginx; a 502/503 or a refused connection (a node dying under the
    call) is retried, safely: every POST carries an Idempotency-Key."""

    def __init__(self, cluster: Cluster) -> None:
        self.base, self.retried = cluster.api, 0

    def call(self, method: str, path: str, key: str | None, body: Any = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if method == "POST":
            headers["Idempotency-Key"] = uuid.uuid4().hex
        data = None if body is None else json.dumps(body).encode()
        for _ in range(6):
            request = urllib.request.Request(self.base + path, data, headers, method=method)
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    return answer.status, json.loads(answer.read() or b"null")
            except urllib.error.HTTPError as error:
                if error.code not in (502, 503, 504):
                    return error.code, json.loads(error.read() or b"null")
            except OSError:
                pass
            self.retried += 1
            time.sleep(0.5)
        raise AssertionError(f"{method} {path}: no node answered")

    def ok(self, method: str, path: str, key: str | None, body: Any = None) -> Any:
        status, answer = self.call(method, path, key, body)
        assert status in (200, 201), (method, path, status, answer)
        return answer


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def paid(api: Through, key: str, order_id: int, timeout: float = 45) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        order = api.ok("GET", f"/v1/orders/{order_id}", key)
        if order["status"] == "paid":
            return order
        time.sleep(0.3)
    raise AssertionError(f"order {order_id} is still {order['status']}")


def customer(api: Through, keys: dict[str, str], tag: str) -> int:
    body = {"email": f"{tag}@{tag}.example.com", "name": tag}
    return api.ok("POST", "/v1/customers", keys["checkout"], body)["id"]


def purchase(api: Through, keys: dict[str, str], client: stripe.StripeClient, n: int) -> int:
    tag = f"buy{n}-{uuid.uuid4().hex[:6]}"
    body = {"kind": "purchase", "customer_id": customer(api, keys, tag), "edition": "pro"}
    order = api.ok("POST", "/v1/orders", keys["checkout"], {**body, "domain": f"{tag}.test"})
    pay(client, order, CARD_OK)
    return paid(api, keys["checkout"], order["id"])["id"]


def renewal(api: Through, keys: dict[str, str], client: stripe.StripeClient, n: int) -> int:
    tag = f"renew{n}-{uuid.uuid4().hex[:6]}"
    imported = {
        "customer_id": customer(api, keys, tag),
        "edition": "pro",
        "domain": f"{tag}.test",
        "purchased_at": stamp(datetime.now(UTC) - relativedelta(months=11)),
        "channel": "direct",
    }
    license = api.ok("POST", "/v1/licenses/import", keys["admin"], imported)
    body = {"kind": "renewal", "license_key": license["key"]}
    order = api.ok("POST", "/v1/orders", keys["checkout"], body)
    pay(client, order, CARD_OK)
    return paid(api, keys["checkout"], order["id"])["id"]


def expiring(api: Through, keys: dict[str, str], n: int) -> str:
    """A license three days from its end: the workers' schedule makes its notice due."""
    tag = f"ending{n}-{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    imported = {
        "customer_id": customer(api, keys, tag),
        "edition": "pro",
        "domain": f"{tag}.test",
        "purchased_at": stamp(now - relativedelta(years=1) + timedelta(days=3)),
        "updates_until": stamp(now + timedelta(days=3)),
        "channel": "direct",
    }
    return api.ok("POST", "/v1/licenses/import", keys["admin"], imported)["key"]


def hammer_validate(api: Through, calls: int) -> tuple[Counter[int], set[str]]:
    """`calls` validations through nginx, 4 at a time: statuses, and the nodes that answered."""

    def one(_: int) -> tuple[int, str]:
        body = json.dumps({"key": uuid.uuid4().hex, "domain": "hammer.test"}).encode()
        request = urllib.request.Request(
            f"{api.base}/v1/licenses/validate", body, {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.headers["X-Upstream"]
        except urllib.error.HTTPError as error:
            return error.code, error.headers["X-Upstream"]

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(one, range(calls)))
    return Counter(status for status, _ in answers), {node for _, node in answers}


def drive(cluster: Cluster, api: Through, keys: dict[str, str]) -> dict[str, Any]:
    """Purchases, renewals and licenses coming due, 4 at a time; a third of the way
    through, node1 and worker1 are SIGKILLed (nginx and worker2 carry on)."""
    client = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": cluster.stripe})
    done: dict[str, list[Any]] = {"purchase": [], "renewal": [], "expiring": []}
    killed: list[str] = []
    with ThreadPoolExecutor(4) as pool:
        work = {pool.submit(purchase, api, keys, client, n): "purchase" for n in range(PURCHASES)}
        work |= {pool.submit(renewal, api, keys, client, n): "renewal" for n in range(RENEWALS)}
        work |= {pool.submit(expiring, api, keys, n): "expiring" for n in range(EXPIRING)}
        for future in as_completed(work):
            done[work[future]].append(future.result())
            if not killed and sum(map(len, done.values())) >= len(work) // 3:
                for name in ("node1", "worker1"):
                    cluster.kill(name)
                    killed.append(name)
    return {**done, "killed": killed}


def query(dsn: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as connection:
        return connection.execute(sql, params).fetchall()


def wait_for_deliveries(cluster: Cluster, expiring_keys: list[str], timeout: float = 90) -> None:
    """Until every license coming due has its notice, every notice is delivered, and no new
    one appeared for longer than the schedule's interval."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        (state,) = query(
            cluster.dsn("primary"),
            "SELECT (SELECT count(DISTINCT n.license_id) FROM notices n"
            "  JOIN licenses l ON l.id = n.license_id"
            "  WHERE n.type = 'subscription.expiring' AND l.key = ANY(%s)),"
            " (SELECT count(*) FROM notices),"
            " (SELECT count(*) FROM notices n WHERE NOT EXISTS (SELECT 1 FROM deliveries d"
            "  WHERE d.notice_id = n.id AND d.delivered_at IS NOT NULL))",
            expiring_keys,
        )
        if state[0] == len(expiring_keys) and state[2] == 0 and state == last:
            return
        last = state
        time.sleep(3)
    raise AssertionError(f"(licenses come due, notices, undelivered) stayed {last}")


def mailed_once(cluster: Cluster, timeout: float = 60) -> tuple[int, int]:
    """D25 with two workers, one killed: once the outbox is empty, every email the database
    says was sent is in the catcher exactly once (by its Message-ID). (sent, duplicates)."""
    deadline = time.monotonic() + timeout
    sql = (
        "SELECT count(*) FILTER (WHERE status = 'pending'),"
        " count(*) FILTER (WHERE status = 'sent') FROM emails"
    )
    while (counts := query(cluster.dsn("primary"), sql)[0])[0] and time.monotonic() < deadline:
        time.sleep(1)
    pending, sent = counts
    assert pending == 0, f"{pending} emails still pending"
    ids = Counter(
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)["Message-ID"]
        for path in cluster.mail.glob("*.eml")
    )
    assert set(ids) == {
        f"<email-{row[0]}@licensing>"
        for row in query(cluster.dsn("primary"), "SELECT id FROM emails WHERE status = 'sent'")
    }
    return sent, sum(count - 1 for count in ids.values())


def licenses_per_paid_order(cluster: Cluster, order_ids: list[int]) -> list[int]:
    """For each paid order: how many licenses it made (a renewal: its license's renewals)."""
    rows = query(
        cluster.dsn("primary"),
        "SELECT o.id, o.kind, o.license_id,"
        " (SELECT count(*) FROM licenses l WHERE l.domain = o.domain),"
        " (SELECT count(*) FROM license_events e WHERE e.license_id = o.license_id"
        "  AND e.type = 'renewed')"
        " FROM orders o WHERE o.status = 'paid' AND o.id = ANY(%s)",
        order_ids,
    )
    assert len(rows) == len(order_ids)
    return [
        (same_domain if kind == "purchase" else renewals) if license_id else 0
        for _, kind, license_id, same_domain, renewals in rows
    ]


def report_connections(cluster: Cluster, which: str) -> int:
    (count,) = query(
        cluster.dsn(which),
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
        REPORT_APPLICATION,
    )[0]
    return count


def test_the_cluster_survives_a_node_and_a_worker_killed_mid_run(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    api = Through(cluster)
    keys = {scope: cluster.create_key(scope) for scope in ("admin", "checkout", "finance")}
    statuses, nodes = hammer_validate(api, 3 * RATE_LIMIT)
    assert statuses[200] <= RATE_LIMIT and statuses[200] + statuses[429] == 3 * RATE_LIMIT
    assert len(nodes) == 2  # both nodes answered, sharing one count in Redis
    receiver = Receiver()
    try:
        api.ok("POST", "/v1/subscribers", keys["admin"], {"url": receiver.url, "secret": SECRET})
        run = drive(cluster, api, keys)
        wait_for_deliveries(cluster, run["expiring"])
        sent = Counter(headers["Licensing-Event-Id"] for headers, _ in receiver.received)
    finally:
        receiver.close()
    notices = {str(row[0]) for row in query(cluster.dsn("primary"), "SELECT id FROM notices")}
    per_order = licenses_per_paid_order(cluster, run["purchase"] + run["renewal"])
    emails_sent, emails_twice = mailed_once(cluster)
    duplicates = sum(count - 1 for count in sent.values()) + sum(n - 1 for n in per_order if n)
    duplicates += emails_twice
    assert per_order == [1] * len(per_order)
    assert set(sent) == notices and duplicates == 0
    assert emails_sent >= len(run["expiring"])  # at least the reminders, one per license
    status, _ = api.call("GET", "/v1/reports/renewals?from=2026-01&to=2026-12", keys["finance"])
    assert status == 200
    on_replica, on_primary = (report_connections(cluster, db) for db in ("replica", "primary"))
    assert on_replica >= 1 and on_primary == 0
    with capsys.disabled():
        print(
            f"\ncluster: {len(per_order)} paid orders ({len(run['purchase'])} purchases, "
            f"{len(run['renewal'])} renewals), {len(run['expiring'])} licenses come due; "
            f"kills: {len(run['killed'])} ({', '.join(run['killed'])} SIGKILLed mid-run), "
            f"{api.retried} calls retried through nginx; notices: {len(notices)} made, "
            f"{sum(sent.values())} delivered, {emails_sent} emailed to owners; "
            f"duplicates found: {duplicates}; validate: "
            f"{statuses[200]} allowed, {statuses[429]} refused of {3 * RATE_LIMIT} "
            f"(limit {RATE_LIMIT}/hour) over {len(nodes)} nodes; report connections on the "
            f"replica: {on_replica}, on the primary: {on_primary}"
        )
