"""`GET /metrics`: Prometheus' text format, for the `metrics` scope (or admin)."""

from __future__ import annotations

from flask import Response, current_app
from flask.views import MethodView

from licensing.api.auth import requires
from licensing.api.blueprint import Blueprint
from licensing.api.request_metrics import exposition
from licensing.clock import utcnow
from licensing.domain.access import METRICS
from licensing.services import metrics

blp = Blueprint("metrics", __name__, description="Operations")


@blp.route("/metrics")
class Metrics(MethodView):
    @requires(METRICS)
    @blp.response(
        200,
        {"type": "string"},
        content_type="text/plain",
        description="Prometheus text exposition format (version 0.0.4)",
    )
    def get(self) -> Response:
        """Requests by route template and status with latency histograms (every gunicorn
        worker together), orders by kind and status, Stripe webhook events by outcome,
        notices pending and dead, and the age of each periodic job's last run."""
        settings = current_app.config["SETTINGS"]
        gauges = metrics.read_gauges(now=utcnow())
        return exposition(gauges, multiproc_dir=settings.prometheus_multiproc_dir)
