"""The account page (D24): the signed-in customer's licenses with what renewing costs today,
and from there renew, move the domain (D5), upgrade to Premium (D19), orders with their
receipts, and quotes sent to them to accept and pay. Only ever their own: another's key or
id is answered as one that does not exist."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, redirect, render_template, request, session, url_for

from licensing.adapters.models import Order
from licensing.api.dependencies import payment_gateway
from licensing.api.page_card import CARD_MISSING, card_from_form, pay_by_card, stripe_settings
from licensing.api.page_forms import FormErrors, domain_field
from licensing.api.page_shell import PageBlueprint, error_page, signed_in
from licensing.clock import utcnow
from licensing.domain.errors import Conflict, PaymentFailed
from licensing.domain.orders import OrderKind
from licensing.services import (
    accepted_quotes,
    certificates,
    customer_account,
    licenses,
    order_kinds,
    upgrades,
)
from licensing.services.orders import get_order
from licensing.services.renewals import renewal_quote
from licensing.services.sign_in import page_actor

pages = PageBlueprint("account_pages", __name__)
PREMIUM = "premium"
MOVED = "moved_domain"  # a one-time notice on the account page after a move


@pages.get("/account")
@signed_in
def account(customer_id: int) -> Any:
    view = customer_account.show_account(customer_id, now=utcnow())
    moved = session.pop(MOVED, None)
    return render_template("pages/account.html", account=view, moved=moved)


@pages.route("/account/licenses/<key>/renew", methods=["GET", "POST"])
@signed_in
def renew(customer_id: int, key: str) -> Any:
    """An ordinary renewal order at the rate and price of now (D8, D13), paid by card."""
    license = customer_account.owned_license(customer_id, key)
    offer = renewal_quote(license.key, at=utcnow())

    def page(errors: FormErrors, status: int = 200) -> tuple[str, int]:
        context = {"license": license, "offer": offer, "errors": errors, **stripe_settings()}
        return render_template("pages/renew.html", **context), status

    def open_order() -> Order:
        return order_kinds.create_order(
            OrderKind.RENEWAL,
            gateway=payment_gateway(),
            actor=page_actor(customer_id),
            now=utcnow(),
            license_key=license.key,
        )

    return _pay_page(page, open_order, customer_id)


@pages.route("/account/licenses/<key>/upgrade", methods=["GET", "POST"])
@signed_in
def upgrade(customer_id: int, key: str) -> Any:
    """D19: to Premium at the difference of the list prices now, paid by card."""
    license = customer_account.owned_license(customer_id, key)
    price = upgrades.upgrade_offer(license.key, edition=PREMIUM)

    def page(errors: FormErrors, status: int = 200) -> tuple[str, int]:
        context = {"license": license, "price": price, "errors": errors, **stripe_settings()}
        return render_template("pages/upgrade.html", **context), status

    def open_order() -> Order:
        return order_kinds.create_order(
            OrderKind.UPGRADE,
            gateway=payment_gateway(),
            actor=page_actor(customer_id),
            now=utcnow(),
            license_key=license.key,
            edition=PREMIUM,
        )

    return _pay_page(page, open_order, customer_id)


@pages.route("/account/quotes/<id:quote_id>", methods=["GET", "POST"])
@signed_in
def quote(customer_id: int, quote_id: int) -> Any:
    """A quote sent to the customer: accepting it opens its order, paid by card (D12)."""
    shown = customer_account.owned_quote(customer_id, quote_id, now=utcnow())

    def page(errors: FormErrors, status: int = 200) -> tuple[str, int]:
        context = {"quote": shown, "errors": errors, **stripe_settings()}
        return render_template("pages/quote_accept.html", **context), status

    def open_order() -> Order:
        actor = page_actor(customer_id)
        accepted = accepted_quotes.accept_quote(
            quote_id, gateway=payment_gateway(), actor=actor, now=utcnow()
        )
        assert accepted.order_id is not None
        return get_order(accepted.order_id)

    return _pay_page(page, open_order, customer_id)


def _pay_page(
    page: Callable[..., tuple[str, int]], open_order: Callable[[], Order], customer_id: int
) -> Any:
    """GET: the page with its card field. POST: the order opened, then paid with the card;
    a refusal (409) or a declined card is shown beside the card field."""
    if request.method == "GET":
        return page(FormErrors())
    card = card_from_form()
    if card is None:
        return page(FormErrors(card=CARD_MISSING), 422)
    try:
        order = open_order()
    except Conflict as refused:
        return page(FormErrors(card=str(refused)), 409)
    view = customer_account.owned_order(customer_id, order.id, now=utcnow())
    try:
        status = pay_by_card(view, card, actor=page_actor(customer_id))
    except PaymentFailed as declined:
        return page(FormErrors(card=str(declined)), 402)
    return redirect(url_for(".order", order_id=order.id, action=status == "requires_action"))


@pages.route("/account/licenses/<key>/domain", methods=["GET", "POST"])
@signed_in
def move_domain(customer_id: int, key: str) -> Any:
    """D5: the license moves to another domain; its dates do not change."""
    license = customer_account.owned_license(customer_id, key)
    errors = FormErrors()
    if request.method == "POST":
        domain = domain_field(errors)
        if not errors:
            try:
                licenses.rebind_domain(
                    key=license.key, domain=domain, actor=page_actor(customer_id), now=utcnow()
                )
            except Conflict as refused:
                errors["domain"] = str(refused)
        if not errors:
            session[MOVED] = domain
            return redirect(url_for(".account"))
    status = 422 if errors else 200
    return render_template(
        "pages/move_domain.html", license=license, errors=errors, form=request.form
    ), status


@pages.get("/account/licenses/<key>/certificate")
@signed_in
def certificate(customer_id: int, key: str) -> Any:
    """D22: the license's certificate for its own domain, as a file the shop installs; a
    license that is not active gets none (the page says why)."""
    license = customer_account.owned_license(customer_id, key)
    issued = certificates.issue_certificate(
        license_key=license.key, domain=license.domain, now=utcnow()
    )
    if not issued.valid or issued.certificate is None:
        return error_page(
            409,
            "No certificate for this license",
            f"Only an active license gets a certificate; this one is {license.status}.",
        )
    filename = f"{license.domain}.license.jwt"
    return Response(
        issued.certificate,
        mimetype="application/jwt",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@pages.get("/account/orders/<id:order_id>")
@signed_in
def order(customer_id: int, order_id: int) -> Any:
    """An order's receipt; while it awaits its payment the page refreshes itself. Once paid,
    it shows what the order gave while the license is still the customer's: a purchase's
    key, a renewal's new `updates_until`. After a D21 transfer the receipt stays, and the
    license's details are the new owner's alone."""
    view = customer_account.owned_order(customer_id, order_id, now=utcnow())
    return render_template(
        "pages/order.html",
        order=view,
        gave=customer_account.what_the_order_gave(view),
        needs_action=request.args.get("action") == "True",
        **stripe_settings(),
    )
