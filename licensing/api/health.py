"""Liveness and readiness probes, outside the versioned API."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask.views import MethodView

from licensing.api.auth import public
from licensing.api.blueprint import Blueprint
from licensing.services import health
from licensing.services.health import Health

blp = Blueprint("health", __name__, description="Health probes")


class HealthSchema(ma.Schema):
    status = ma.fields.String(required=True)


class ReadinessSchema(HealthSchema):
    degraded = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={
            "description": "Dependencies that are down but not needed to serve: "
            "`rate_limit_store` (validation then goes on without its limit)."
        },
    )


@blp.route("/healthz")
class Liveness(MethodView):
    @public
    @blp.response(200, HealthSchema)
    def get(self) -> Health:
        """The process is alive (no database access)."""
        return health.ALIVE


@blp.route("/readyz")
class Readiness(MethodView):
    @public
    @blp.response(200, ReadinessSchema)
    def get(self) -> Health:
        """The database answers (503 problem+json when it does not); `degraded` names what
        is down without stopping the service."""
        limit = current_app.extensions.get("validate_rate_limit")
        optional = {"rate_limit_store": limit.check_store} if limit is not None else {}
        return health.readiness(optional=optional)
