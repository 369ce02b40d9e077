"""`GET /metrics`: refused without the `metrics` scope; requests by route template and status
with their latency histogram; orders, webhook events, notices and job runs."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from licensing.jobs import JOBS
from licensing.worker import Worker
from tests.factories import Api, created, import_license, make_key, new_customer, problem
from tests.fakes import FakeGateway, signed, stripe_event
from tests.subscribers import SECRET, Receiver


def scrape(client: FlaskClient, key: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of the scrape, by name and labels."""
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "text/plain"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.get_data(as_text=True))
        for sample in family.samples
    }


def labels(**values: str) -> frozenset:
    return frozenset(values.items())


def test_metrics_needs_the_metrics_or_admin_scope(app: Flask, client: FlaskClient) -> None:
    problem(client.get("/metrics"), 401, "UNAUTHENTICATED")
    for scope in ("checkout", "finance", "helpdesk"):
        refused = client.get(
            "/metrics", headers={"Authorization": f"Bearer {make_key(app, scope)}"}
        )
        problem(refused, 403, "FORBIDDEN")
    scrape(client, make_key(app, "metrics"))
    scrape(client, make_key(app, "admin"))


def test_metrics_scope_reads_metrics_and_nothing_else(app: Flask, client: FlaskClient) -> None:
    key = make_key(app, "metrics")
    problem(Api(client, key).get("/v1/editions"), 403, "FORBIDDEN")


def test_requests_are_counted_and_timed_by_route_template_never_by_path(
    app: Flask, client: FlaskClient, admin: Api
) -> None:
    key = make_key(app, "metrics")
    license = import_license(admin, customer_id=new_customer(admin)["id"])
    route = labels(method="GET", route="/v1/licenses/<license_key:key>", status="200")
    before = scrape(client, key)
    for _ in range(3):
        admin.get(f"/v1/licenses/{license['key']}")
    admin.get("/v1/licenses/NO-SUCH-KEY")
    after = scrape(client, key)
    count = "licensing_http_request_duration_seconds_count"
    assert after[(count, route)] - before.get((count, route), 0) == 3
    assert after[("licensing_http_requests_total", route)] == after[(count, route)]
    assert after[("licensing_http_request_duration_seconds_bucket", route | {("le", "+Inf")})] >= 3
    assert after[("licensing_http_request_duration_seconds_sum", route)] > 0
    missing = labels(method="GET", route="/v1/licenses/<license_key:key>", status="404")
    assert after[(count, missing)] - before.get((count, missing), 0) == 1
    client.open("/v1/editions", method="BREW")  # a made-up method is counted as `other`
    text = client.get("/metrics", headers={"Authorization": f"Bearer {key}"}).get_data(True)
    assert 'method="other",route="unmatched",status="405"' in text
    assert "BREW" not in text
    assert license["key"] not in text and "NO-SUCH-KEY" not in text


def test_orders_notices_and_job_runs_are_read_from_the_database(
    app: Flask, client: FlaskClient, admin: Api, gateway: FakeGateway
) -> None:
    customer = new_customer(admin)
    order = {"kind": "purchase", "customer_id": customer["id"], "edition": "pro"}
    created(admin.post("/v1/orders", json={**order, "domain": "metered.example.com"}))
    receiver = Receiver()
    try:
        receiver.statuses = [500]
        created(admin.post("/v1/subscribers", json={"url": receiver.url, "secret": SECRET}))
        import_license(admin, customer_id=customer["id"])
        deliver = next(job for job in JOBS if job.name == "events-deliver")
        assert Worker(app).run_once(deliver)
    finally:
        receiver.close()
    samples = scrape(client, make_key(app, "metrics"))
    assert samples[("licensing_orders", labels(kind="purchase", status="awaiting_payment"))] == 1
    assert samples[("licensing_notice_deliveries", labels(state="pending"))] == 1  # a retry
    assert samples[("licensing_notice_deliveries", labels(state="dead"))] == 0
    age = samples[
        ("licensing_job_last_run_age_seconds", labels(job="events-deliver", outcome="ok"))
    ]
    assert 0 <= age < 60


def test_webhook_events_are_counted_by_outcome(
    app: Flask, client: FlaskClient, gateway: FakeGateway
) -> None:
    key = make_key(app, "metrics")
    before = scrape(client, key)
    body, headers = signed(stripe_event("customer.created", {"id": "cus_1", "object": "customer"}))
    for _ in range(2):
        assert client.post("/v1/stripe/webhook", data=body, headers=headers).status_code == 200
    after = scrape(client, key)
    for outcome in ("ignored", "duplicate"):
        sample = ("licensing_stripe_webhook_events_total", labels(outcome=outcome))
        assert after[sample] - before.get(sample, 0) == 1
