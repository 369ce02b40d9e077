"""Subscriber routes (admin): who receives the notices, and what could not be delivered."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from licensing.api.auth import requires
from licensing.api.blueprint import Blueprint
from licensing.api.fields import Id, Instant, http_url
from licensing.api.idempotency import idempotent
from licensing.api.shared_schemas import page_schema
from licensing.clock import utcnow
from licensing.domain.access import ADMIN
from licensing.services import notices

blp = Blueprint("notices", __name__, url_prefix="/v1", description="Notices to subscribers")


class SubscriberSchema(ma.Schema):
    id = Id(dump_only=True)
    url = http_url(local=True, required=True)
    secret = ma.fields.String(
        required=True,
        load_only=True,
        validate=ma.validate.Length(min=16, max=200),
        metadata={"description": "signs every notice (HMAC-SHA256); never shown again"},
    )
    created_at = Instant(dump_only=True)
    disabled_at = Instant(dump_only=True, allow_none=True)


class NoticeSchema(ma.Schema):
    id = Id(required=True)
    type = ma.fields.String(required=True)
    created_at = Instant(required=True)
    data = ma.fields.Dict(required=True)


class DeliverySchema(ma.Schema):
    id = Id(required=True)
    subscriber_id = Id(required=True)
    notice = ma.fields.Nested(NoticeSchema, required=True)
    attempts = ma.fields.Integer(required=True)
    next_attempt_at = Instant(required=True)
    first_attempt_at = Instant(allow_none=True, required=True)
    dead_at = Instant(allow_none=True, required=True)
    last_error = ma.fields.String(allow_none=True, required=True)


SubscriberListSchema = page_schema(SubscriberSchema, "SubscriberList")
DeadLetterListSchema = page_schema(DeliverySchema, "DeadLetterList")


@blp.route("/subscribers")
class Subscribers(MethodView):
    @requires(ADMIN)
    @blp.response(200, SubscriberListSchema)
    def get(self) -> Any:
        """Every subscriber, enabled or not."""
        return notices.list_subscribers()

    @requires(ADMIN)
    @idempotent
    @blp.arguments(SubscriberSchema)
    @blp.response(201, SubscriberSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Subscribe a URL to every notice from now on, signed with its secret."""
        return notices.add_subscriber(**body, now=utcnow())


@blp.route("/subscribers/<id:subscriber_id>/disable")
class SubscriberDisable(MethodView):
    @requires(ADMIN)
    @blp.response(200, SubscriberSchema)
    def post(self, subscriber_id: int) -> Any:
        """Stop sending to this subscriber (what it was sent stays in the record)."""
        return notices.disable_subscriber(subscriber_id, now=utcnow())


@blp.route("/notices/dead-letters")
class DeadLetters(MethodView):
    @requires(ADMIN)
    @blp.response(200, DeadLetterListSchema)
    def get(self) -> Any:
        """Deliveries given up after 24 hours of retries, newest first."""
        return notices.dead_letters()


@blp.route("/notices/dead-letters/<id:delivery_id>/retry")
class DeadLetterRetry(MethodView):
    @requires(ADMIN)
    @blp.response(200, DeliverySchema)
    def post(self, delivery_id: int) -> Any:
        """Give a dead-lettered delivery another 24 hours of attempts, from now."""
        return notices.retry_dead_letter(delivery_id, now=utcnow())
