"""The buy page (D24): email, name, domain and card; the customer found by email or created,
an ordinary purchase order paid with the card, and the license key shown once it is paid."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, session, url_for

from licensing.api.auth import public
from licensing.api.dependencies import payment_gateway
from licensing.api.page_card import CARD_MISSING, card_from_form, pay_by_card, stripe_settings
from licensing.api.page_forms import FormErrors, domain_field, email_field, text_field
from licensing.api.page_shell import PageBlueprint
from licensing.clock import utcnow
from licensing.domain.errors import Conflict, NotFound, PaymentFailed
from licensing.domain.money import format_decimal
from licensing.domain.orders import OrderKind
from licensing.services import accounts, catalog, order_kinds
from licensing.services.customer_account import what_the_order_gave
from licensing.services.licenses import ensure_domain_free
from licensing.services.order_kinds import show_order
from licensing.services.sign_in import page_actor

pages = PageBlueprint("buy_pages", __name__)
EDITIONS = ("pro", "premium")
BOUGHT = "bought_orders"  # the orders this browser paid for: only they show their key


def _edition(code: str | None) -> dict[str, str]:
    if code not in EDITIONS:
        raise NotFound("There is no such edition.", code="EDITION_NOT_FOUND")
    edition = catalog.get_edition(code)
    return {
        "code": edition.code,
        "name": edition.name,
        "price": format_decimal(edition.price_amount),
    }


def _form(edition: dict[str, str], errors: FormErrors, status: int = 200) -> tuple[str, int]:
    page = render_template(
        "pages/buy.html", edition=edition, errors=errors, form=request.form, **stripe_settings()
    )
    return page, status


@pages.get("/buy")
@public
def buy() -> Any:
    return _form(_edition(request.args.get("edition")), FormErrors())


@pages.post("/buy")
@public
def place_order() -> Any:
    """Every field is checked before anything is written; the domain is checked free (D4)
    before the customer is looked up or created, so a refusal leaves nothing behind."""
    edition = _edition(request.form.get("edition"))
    errors = FormErrors()
    email = email_field(errors)
    name = text_field("name", errors, label="name", max_length=200)
    domain = domain_field(errors)
    card = card_from_form()
    if card is None:
        errors["card"] = CARD_MISSING
    if not errors:
        try:
            ensure_domain_free(domain)
        except Conflict as taken:
            errors["domain"] = str(taken)
    if errors:
        return _form(edition, errors, 422)
    assert card is not None
    return _buy(edition["code"], email=email, name=name, domain=domain, card=card)


def _buy(edition: str, *, email: str, name: str, domain: str, card: str) -> Any:
    now = utcnow()
    customer = accounts.find_or_create_customer(email=email, name=name, now=now)
    actor = page_actor(customer.id)
    try:
        order = order_kinds.create_order(
            OrderKind.PURCHASE,
            gateway=payment_gateway(),
            actor=actor,
            now=now,
            customer_id=customer.id,
            edition=edition,
            domain=domain,
        )
    except Conflict as taken:  # D4: another order's license took the domain meanwhile
        return _form(_edition(edition), FormErrors(domain=str(taken)), 409)
    view = show_order(order.id, paying=True, now=now)
    try:
        status = pay_by_card(view, card, actor=actor)
    except PaymentFailed as declined:
        return _form(_edition(edition), FormErrors(card=str(declined)), 402)
    session[BOUGHT] = [*session.get(BOUGHT, [])[-9:], order.id]
    return redirect(url_for(".bought", order_id=order.id, action=status == "requires_action"))


@pages.get("/buy/orders/<id:order_id>")
@public
def bought(order_id: int) -> Any:
    """The order as it is paid: refreshed until the webhook marks it paid (D7), then the key."""
    if order_id not in session.get(BOUGHT, []):
        raise NotFound("There is no such order.", code="ORDER_NOT_FOUND")
    order = show_order(order_id, paying=True, now=utcnow())
    return render_template(
        "pages/order.html",
        order=order,
        money=format_decimal,
        needs_action=request.args.get("action") == "True",
        gave=what_the_order_gave(order),
        **stripe_settings(),
    )
