"""Catalog routes: editions and their prices (R1, D2), published releases (R10)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from licensing.api.auth import requires
from licensing.api.blueprint import Blueprint
from licensing.api.fields import (
    EDITION_CODES,
    VERSION_PATTERN,
    Instant,
    Pattern,
    StrictInteger,
    Text,
)
from licensing.api.idempotency import idempotent
from licensing.api.shared_schemas import MoneySchema, PageArgsSchema, page_schema
from licensing.clock import utcnow
from licensing.domain.access import ADMIN, ANY_PARTNER, CHECKOUT, FINANCE, HELPDESK
from licensing.domain.money import MINIMUM_LIST_PRICE, Money
from licensing.services import catalog

blp = Blueprint("catalog", __name__, url_prefix="/v1", description="Editions and releases")

ANY_CALLER = (CHECKOUT, HELPDESK, FINANCE, ANY_PARTNER)
VERSION = Pattern(
    VERSION_PATTERN,
    error="A version must look like 5.2 or 5.2.1, optionally with a suffix such as -rc1.",
)


class EditionSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    price = ma.fields.Nested(MoneySchema, required=True)
    priority = StrictInteger(
        required=True, metadata={"description": "R12: a higher priority is served first"}
    )


# The most Stripe charges in one payment in USD ($999,999.99); it also fits the database's
# INTEGER amount columns (PostgreSQL refused more than 2**31 - 1 with a 422 before).
MAXIMUM_LIST_PRICE = 99_999_999


class ListPriceSchema(MoneySchema):
    """A list price that every payment derived from it can reach Stripe with (R18, D1)."""

    amount = StrictInteger(
        required=True,
        validate=ma.validate.Range(
            min=MINIMUM_LIST_PRICE,
            max=MAXIMUM_LIST_PRICE,
            error="must be from {min} to {max} minor units ($2.50 is the least a 20% renewal "
            "of it can be charged)",
        ),
    )


class EditionUpdateSchema(ma.Schema):
    name = Text(max_length=100, one_line=True)
    price = ma.fields.Nested(ListPriceSchema, required=True)


class ReleaseSchema(ma.Schema):
    version = ma.fields.String(required=True, validate=[ma.validate.Length(max=32), VERSION])
    released_at = Instant(request=True, required=True)


class ReleaseAnswerSchema(ReleaseSchema):
    """A release as answered: `released_at` in UTC (2999-12-31T23:00:00-05:00 reads 3000-01-01)."""

    released_at = Instant(required=True)


EDITION_CODE = {
    "in": "path",
    "name": "code",
    "required": True,
    "schema": {"type": "string", "enum": list(EDITION_CODES)},
    "description": "an edition of GET /v1/editions (another code: 404)",
}
EditionListSchema = page_schema(EditionSchema, "EditionList")
ReleaseListSchema = page_schema(ReleaseAnswerSchema, "ReleaseList")


@blp.route("/editions")
class Editions(MethodView):
    @requires(*ANY_CALLER)
    @blp.response(200, EditionListSchema)
    def get(self) -> Any:
        """The editions on sale with their current list prices."""
        return catalog.list_editions()


@blp.route("/editions/<string:code>")
class EditionByCode(MethodView):
    @requires(ADMIN)
    @blp.arguments(EditionUpdateSchema)
    @blp.doc(parameters=[EDITION_CODE])
    @blp.response(200, EditionSchema)
    def put(self, body: dict[str, Any], code: str) -> Any:
        """Change an edition's list price (D2: existing orders keep theirs)."""
        price = Money(**body["price"])
        return catalog.update_edition(code=code, price=price, name=body.get("name"), now=utcnow())


@blp.route("/releases")
class Releases(MethodView):
    @requires(*ANY_CALLER)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, ReleaseListSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Published releases, newest (current, R10) first."""
        return catalog.list_releases(limit=args["limit"], cursor=args["cursor"])

    @requires(ADMIN)
    @idempotent
    @blp.arguments(ReleaseSchema)
    @blp.response(201, ReleaseAnswerSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Publish a release."""
        return catalog.create_release(**body, now=utcnow())
