"""Every request counted and timed by route template and status (never the raw path: it may
hold a license key), and the Prometheus text `/metrics` answers.

Under gunicorn, `PROMETHEUS_MULTIPROC_DIR` makes prometheus-client keep each worker's
values in a file of that folder; a scrape, whichever worker answers it, sums them all
(`licensing.gunicorn_config` forgets a worker that has exited). Without it (one process,
the tests) the values live in the process.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from flask import Flask, Response, g, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector

from licensing.services.metrics import Gauge

LABELS = ("method", "route", "status")
REQUESTS = Counter("licensing_http_requests", "HTTP requests answered.", LABELS)
LATENCY = Histogram(
    "licensing_http_request_duration_seconds",
    "Time from the start of the request's handling to its answer.",
    LABELS,
)
UNMATCHED = "unmatched"  # no route: the path is never a label
# Any other method a client makes up is `other`: labels stay a bounded set.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_children: dict[tuple[str, str, int], tuple[object, object]] = {}


def observe_request(response: Response) -> Response:
    """after_request: one count and one latency sample; the labelled series are looked up
    once per (method, route, status) and kept, so a request costs two increments."""
    started = g.get("started")
    if started is not None:
        rule = request.url_rule
        method = request.method if request.method in METHODS else "other"
        key = (method, rule.rule if rule else UNMATCHED, response.status_code)
        children = _children.get(key)
        if children is None:
            labels = (key[0], key[1], str(key[2]))
            children = _children[key] = (REQUESTS.labels(*labels), LATENCY.labels(*labels))
        count, latency = children
        count.inc()  # type: ignore[attr-defined]
        latency.observe(time.perf_counter() - started)  # type: ignore[attr-defined]
    return response


def init_request_metrics(app: Flask) -> None:
    app.after_request(observe_request)


class _Gauges:
    """The database's gauges of one scrape, as Prometheus metric families."""

    def __init__(self, gauges: Iterable[Gauge]) -> None:
        self.gauges = list(gauges)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for gauge in self.gauges:
            family = GaugeMetricFamily(f"licensing_{gauge.name}", gauge.help, labels=gauge.labels)
            for values, value in gauge.samples:
                family.add_metric(list(values), value)
            yield family


def exposition(gauges: Iterable[Gauge], *, multiproc_dir: str | None) -> Response:
    """The process's (or every worker's) counters and histograms, then the gauges."""
    if multiproc_dir:
        counted = CollectorRegistry()
        MultiProcessCollector(counted, path=multiproc_dir)
    else:
        counted = REGISTRY
    scraped = CollectorRegistry()
    scraped.register(_Gauges(gauges))
    body = generate_latest(counted) + generate_latest(scraped)
    return Response(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)
