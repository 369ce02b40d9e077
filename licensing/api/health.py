"""Liveness and readiness probes, outside the versioned API."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import text

from licensing.api.auth import public
from licensing.extensions import db

blp = Blueprint("health", __name__, description="Health probes")


class HealthSchema(ma.Schema):
    status = ma.fields.String(required=True)


@blp.route("/healthz")
class Liveness(MethodView):
    @public
    @blp.response(200, HealthSchema)
    def get(self) -> dict[str, Any]:
        """The process is alive (no database access)."""
        return {"status": "ok"}


@blp.route("/readyz")
class Readiness(MethodView):
    @public
    @blp.response(200, HealthSchema)
    def get(self) -> dict[str, Any]:
        """The database answers; 503 problem+json when it does not."""
        db.session.execute(text("SELECT 1"))
        return {"status": "ready"}
