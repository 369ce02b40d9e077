"""Paid work routes: quotes and their lifecycle (R14-R16, D12), the services outside support
(R15), and the quote as a printable page behind a signed, expiring link."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import Blueprint as FlaskBlueprint
from flask import current_app, render_template
from flask.views import MethodView

from licensing.api.auth import current_principal, public, requires
from licensing.api.blueprint import Blueprint
from licensing.api.dependencies import payment_gateway
from licensing.api.fields import Id, Instant, Text
from licensing.api.idempotency import idempotent
from licensing.api.shared_schemas import (
    HistoryEventSchema,
    MoneySchema,
    OmitNoneSchema,
    SignedLinkSchema,
    page_schema,
)
from licensing.api.signed_links import QUOTE_PAGE, IssuedLink
from licensing.clock import utcnow
from licensing.domain.access import CHECKOUT, HELPDESK
from licensing.domain.money import format_decimal
from licensing.domain.quotes import (
    MAX_LINE_HOURS,
    MAX_LINES,
    SERVICE_CODES,
    QuoteStatus,
    WorkCategory,
    quarter_hours,
)
from licensing.services import accepted_quotes, quotes
from licensing.services.quotes import NewLine, QuoteView

blp = Blueprint("paid_work", __name__, url_prefix="/v1", description="Paid work and quotes")
pages = FlaskBlueprint("pages", __name__)


class QuarterHours(ma.fields.Number):
    """Hours in quarter-hour steps (D12): a JSON number such as 1.25, never text or NaN."""

    num_type = float

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        try:
            return quarter_hours(value)
        except ValueError as error:
            raise ma.ValidationError(str(error)) from None


class LineSchema(OmitNoneSchema):
    OPTIONAL = ("service",)

    category = ma.fields.String(required=True, validate=ma.validate.OneOf(list(WorkCategory)))
    service = ma.fields.String(
        load_default=None,
        validate=ma.validate.OneOf(sorted(SERVICE_CODES)),
        metadata={"description": "R15: a code of GET /v1/paid-work/services"},
    )
    description = Text(required=True, max_length=2000)
    hours = QuarterHours(
        required=True,
        metadata={
            "description": f"positive, in quarter-hour steps, at most {MAX_LINE_HOURS} (D12)",
            "exclusiveMinimum": 0,
            "maximum": MAX_LINE_HOURS,
            "multipleOf": 0.25,
        },
    )


class LinesSchema(ma.Schema):
    lines = ma.fields.List(
        ma.fields.Nested(LineSchema),
        required=True,
        validate=ma.validate.Length(min=1, max=MAX_LINES),
    )


class QuoteCreateSchema(LinesSchema):
    customer_id = Id(required=True)
    license_key = ma.fields.String(load_default=None, validate=ma.validate.Length(min=1, max=100))


class QuoteSchema(OmitNoneSchema):
    OPTIONAL = (
        "license_key",
        "sent_at",
        "valid_until",
        "accepted_at",
        "order_id",
        "paid_at",
        "completed_at",
        "warranty_starts_at",
        "warranty_until",
    )

    id = Id(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(list(QuoteStatus)))
    customer_id = Id(required=True)
    license_key = ma.fields.String()
    lines = ma.fields.List(ma.fields.Nested(LineSchema), required=True)
    hours = ma.fields.Float(required=True)
    rate_per_hour = ma.fields.Nested(MoneySchema, required=True)
    amount = ma.fields.Nested(MoneySchema, required=True)
    created_at = Instant(required=True)
    sent_at = Instant()
    valid_until = Instant()
    accepted_at = Instant()
    order_id = Id(metadata={"description": "the order of kind `work` that pays it"})
    paid_at = Instant()
    completed_at = Instant()
    warranty_starts_at = Instant()
    warranty_until = Instant(metadata={"description": "R16: last instant of the warranty"})
    history = ma.fields.List(ma.fields.Nested(HistoryEventSchema), required=True)


class CompleteSchema(ma.Schema):
    moved_to_hosting_at = Instant(
        request=True,
        load_default=None,
        metadata={
            "description": "R16: warranty runs from the move to the official hosting; not in "
            "the future"
        },
    )


class ServiceSchema(ma.Schema):
    code = ma.fields.String(required=True)
    description = ma.fields.String(required=True)


ServiceListSchema = page_schema(ServiceSchema, "ServiceList")


def _lines(body: dict[str, Any]) -> list[NewLine]:
    return [
        NewLine(
            category=WorkCategory(line["category"]),
            description=line["description"],
            quarters=line["hours"],
            service=line.get("service"),
        )
        for line in body["lines"]
    ]


def _shown(quote_id: int) -> QuoteView:
    """The quote as GET shows it: a sent quote past its validity reads as expired (D12)."""
    return quotes.show_quote(quote_id, now=utcnow())


@blp.route("/paid-work/services")
class Services(MethodView):
    @requires(HELPDESK, CHECKOUT)
    @blp.response(200, ServiceListSchema)
    def get(self) -> Any:
        """R15: what support does not cover and is quoted individually."""
        return quotes.services_outside_support()


@blp.route("/quotes")
class Quotes(MethodView):
    @requires(HELPDESK)
    @idempotent
    @blp.arguments(QuoteCreateSchema)
    @blp.response(201, QuoteSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """A draft quote: lines in quarter hours at the configured rate (R14, D12)."""
        quote = quotes.create_quote(
            customer_id=body["customer_id"],
            license_key=body["license_key"],
            lines=_lines(body),
            rate_per_hour=current_app.config["SETTINGS"].paid_work_rate_cents,
            actor=current_principal().actor,
            now=utcnow(),
        )
        return _shown(quote.id)


@blp.route("/quotes/<id:quote_id>")
class QuoteById(MethodView):
    @requires(HELPDESK, CHECKOUT)
    @blp.response(200, QuoteSchema)
    def get(self, quote_id: int) -> Any:
        """A quote, its lines, amounts, dates and history."""
        return _shown(quote_id)


@blp.route("/quotes/<id:quote_id>/lines")
class QuoteLines(MethodView):
    @requires(HELPDESK)
    @blp.arguments(LinesSchema)
    @blp.response(200, QuoteSchema)
    def put(self, body: dict[str, Any], quote_id: int) -> Any:
        """Replace the lines of a draft (409 QUOTE_STATE once sent)."""
        quotes.replace_lines(
            quote_id, lines=_lines(body), actor=current_principal().actor, now=utcnow()
        )
        return _shown(quote_id)


def _action(
    name: str,
    step: Callable[..., object],
    doc: str,
    scopes: tuple[str, ...],
    *,
    opens_order: bool = False,
) -> type[MethodView]:
    """POST /v1/quotes/{id}/<name>: one lifecycle step; 409 QUOTE_STATE when not allowed.
    A step that opens an order (accept) pays through Stripe and takes `Idempotency-Key`, as
    every POST that creates something does: a retry replays the answer, never a second
    order."""

    def post(self: MethodView, quote_id: int) -> Any:
        extra = {"gateway": payment_gateway()} if opens_order else {}
        step(quote_id, actor=current_principal().actor, now=utcnow(), **extra)
        return _shown(quote_id)

    post.__doc__ = doc
    answered = blp.response(200, QuoteSchema)(post)
    if opens_order:
        answered = idempotent(answered)
    return type(f"Quote{name.capitalize()}", (MethodView,), {"post": requires(*scopes)(answered)})


blp.route("/quotes/<id:quote_id>/send")(
    _action(
        "send",
        quotes.send_quote,
        "Send it: the customer may accept it for 14 days (D12).",
        (HELPDESK,),
    )
)
blp.route("/quotes/<id:quote_id>/accept")(
    _action(
        "accept",
        accepted_quotes.accept_quote,
        "Accept it: an order of kind `work` is created and paid like a purchase.",
        (HELPDESK, CHECKOUT),
        opens_order=True,
    )
)
blp.route("/quotes/<id:quote_id>/cancel")(
    _action("cancel", quotes.cancel_quote, "Cancel a draft or sent quote.", (HELPDESK,))
)


@blp.route("/quotes/<id:quote_id>/complete")
class QuoteComplete(MethodView):
    @requires(HELPDESK)
    @blp.arguments(CompleteSchema)
    @blp.response(200, QuoteSchema)
    def post(self, body: dict[str, Any], quote_id: int) -> Any:
        """All work accepted: one month of warranty starts, now or from the move to the
        official hosting (R16)."""
        accepted_quotes.complete_quote(
            quote_id,
            moved_to_hosting_at=body["moved_to_hosting_at"],
            actor=current_principal().actor,
            now=utcnow(),
        )
        return _shown(quote_id)


@blp.route("/quotes/<id:quote_id>/link")
class QuoteLink(MethodView):
    @requires(HELPDESK)
    @blp.response(200, SignedLinkSchema)
    def post(self, quote_id: int) -> IssuedLink:
        """A link to the quote's printable page for the customer, signed, valid 30 days."""
        quotes.get_quote(quote_id)
        return QUOTE_PAGE.issue(f"quotes/{quote_id}", {"quote": quote_id})


@pages.route("/quotes/<id:quote_id>")
@public
def quote_page(quote_id: int) -> Any:
    """The quote for the customer, printable; only with a valid, unexpired signed token."""
    QUOTE_PAGE.claims(quote=quote_id)
    quote = _shown(quote_id)
    return render_template(
        "quote.html", quote=quote, money=format_decimal, warranty=_warranty_text(quote)
    )


def _warranty_text(quote: QuoteView) -> str:
    if quote.warranty_until is not None:
        return f"Warranty until {quote.warranty_until:%d %B %Y %H:%M} UTC."
    return (
        "One month of warranty from your acceptance of all the work, or from the day the "
        "site moves to the official hosting."
    )
