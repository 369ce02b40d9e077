"""`POST /v1/licenses/{key}/transfer` (D21): staff give a license to another customer; the
history names both owners, no date moves, and the helpdesk and every owner-facing read follow
the new owner from the transfer instant, while `at=` before it still answers for the old one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import (
    Api,
    created,
    import_license,
    make_key,
    new_customer,
    new_partner,
    ok,
    problem,
)
from tests.fakes import FakeGateway, charge, intent, signed, stripe_event

PURCHASED = "2026-11-20T09:00:00Z"  # support until 2026-12-20T09:00:00Z (R4)
TRANSFERRED_AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday, desk open
BEFORE = "2026-11-26T11:59:59Z"
AT_TRANSFER = "2026-11-26T12:00:00Z"
DATES = ("purchased_at", "support_until", "updates_until", "preferential_renewal_until")


@pytest.fixture
def helpdesk(app: Flask, client: FlaskClient) -> Api:
    return Api(client, make_key(app, "helpdesk"))


def transfer(admin: Api, key: str, customer_id: int, note: str = "The site was sold") -> Any:
    return admin.post(
        f"/v1/licenses/{key}/transfer", json={"customer_id": customer_id, "note": note}
    )


def transferred(admin: Api, key: str, customer_id: int, *, at: datetime = TRANSFERRED_AT) -> Any:
    with time_machine.travel(at, tick=False):
        return ok(transfer(admin, key, customer_id))


def ask(helpdesk: Api, customer_id: int, domain: str | None, at: str) -> dict[str, Any]:
    query = f"customer_id={customer_id}&department=technical_support&at={at}"
    return ok(helpdesk.get(f"/v1/entitlements?{query}" + (f"&domain={domain}" if domain else "")))


def answer(helpdesk: Api, customer_id: int, domain: str | None, at: str) -> tuple[str, str]:
    given = ask(helpdesk, customer_id, domain, at)
    return given["code"], given["priority"]


def keys(admin: Api, customer_id: int) -> list[str]:
    return [item["key"] for item in ok(admin.get(f"/v1/customers/{customer_id}/licenses"))["items"]]


def test_d21_transfer_answers_the_license_owned_by_the_new_customer(admin: Api) -> None:
    seller, buyer = new_customer(admin)["id"], new_customer(admin)["id"]
    license = import_license(admin, customer_id=seller, purchased_at=PURCHASED)
    moved = transferred(admin, license["key"], buyer)
    assert moved["customer_id"] == buyer
    assert ok(admin.get(f"/v1/licenses/{license['key']}")) == moved
    assert {k: moved[k] for k in ("key", "edition", "domain", "status", "channel")} == {
        k: license[k] for k in ("key", "edition", "domain", "status", "channel")
    }


def test_d21_history_names_both_owners_the_note_and_who_did_it(admin: Api) -> None:
    seller, buyer = new_customer(admin)["id"], new_customer(admin)["id"]
    license = import_license(admin, customer_id=seller, purchased_at=PURCHASED)
    with time_machine.travel(TRANSFERRED_AT, tick=False):
        moved = ok(transfer(admin, license["key"], buyer, note="  Sold with the shop  "))
    assert moved["history"][: len(license["history"])] == license["history"]
    line = moved["history"][-1]
    assert line == {
        "type": "transferred",
        "actor": license["history"][0]["actor"],  # the same admin key imported it
        "at": AT_TRANSFER,
        "data": {"from_customer_id": seller, "to_customer_id": buyer, "note": "Sold with the shop"},
    }


def test_d21_no_date_moves(admin: Api) -> None:
    seller, buyer = new_customer(admin)["id"], new_customer(admin)["id"]
    license = import_license(
        admin, customer_id=seller, purchased_at=PURCHASED, updates_until="2027-03-01T00:00:00Z"
    )
    moved = transferred(admin, license["key"], buyer)
    assert {d: moved[d] for d in DATES} == {d: license[d] for d in DATES}
    quote = ok(admin.get(f"/v1/licenses/{license['key']}/renewal-quote?at={AT_TRANSFER}"))
    assert quote["updates_until"] == license["updates_until"]


def test_d21_customer_license_lists_follow_the_new_owner(admin: Api) -> None:
    seller, buyer = new_customer(admin)["id"], new_customer(admin)["id"]
    kept = import_license(admin, customer_id=seller, purchased_at=PURCHASED)["key"]
    sold = import_license(admin, customer_id=seller, purchased_at=PURCHASED)["key"]
    owned = import_license(admin, customer_id=buyer, purchased_at=PURCHASED)["key"]
    transferred(admin, sold, buyer)
    assert keys(admin, seller) == [kept]
    assert sorted(keys(admin, buyer)) == sorted([owned, sold])


def test_d21_unknown_license_is_404_and_unknown_customer_is_422_on_the_field(
    admin: Api,
) -> None:
    customer = new_customer(admin)["id"]
    license = import_license(admin, customer_id=customer, purchased_at=PURCHASED)
    problem(transfer(admin, "AAAA-BBBB-CCCC-DDDD-EEEE", customer), 404, "LICENSE_NOT_FOUND")
    unknown = problem(transfer(admin, license["key"], customer + 1000), 422, "CUSTOMER_NOT_FOUND")
    assert set(unknown["errors"]) == {"customer_id"}
    assert ok(admin.get(f"/v1/licenses/{license['key']}"))["history"] == license["history"]


def test_d21_transfer_to_the_current_owner_is_409_already_owner(admin: Api) -> None:
    customer = new_customer(admin)["id"]
    license = import_license(admin, customer_id=customer, purchased_at=PURCHASED)
    problem(transfer(admin, license["key"], customer), 409, "ALREADY_OWNER")
    assert ok(admin.get(f"/v1/licenses/{license['key']}"))["history"] == license["history"]


@pytest.mark.parametrize("note", [None, "", "   \n\t"])
def test_d21_a_note_is_required_and_not_blank(admin: Api, note: str | None) -> None:
    seller, buyer = new_customer(admin)["id"], new_customer(admin)["id"]
    license = import_license(admin, customer_id=seller, purchased_at=PURCHASED)
    body: dict[str, Any] = {"customer_id": buyer}
    if note is not None:
        body["note"] = note
    refused = admin.post(f"/v1/licenses/{license['key']}/transfer", json=body)
    assert set(problem(refused, 422, "VALIDATION_FAILED")["errors"]) == {"note"}
    assert ok(admin.get(f"/v1/licenses/{license['key']}"))["customer_id"] == seller


def test_d21_only_admin_keys_transfer(app: Flask, client: FlaskClient, admin: Api) -> None:
    seller, buyer = new_customer(admin)["id"], new_customer(admin)["id"]
    license = import_license(admin, customer_id=seller, purchased_at=PURCHASED)
    for scope in ("checkout", "helpdesk", "finance"):
        problem(
            transfer(Api(client, make_key(app, scope)), license["key"], buyer), 403, "FORBIDDEN"
        )


def bought(client: FlaskClient, checkout: Api, customer_id: int, domain: str) -> dict[str, Any]:
    """A Pro purchase paid through (fake) Stripe: its order, and the Stripe event that would
    refund it in full (D9: the license is revoked)."""
    order = created(
        checkout.post(
            "/v1/orders",
            json={
                "kind": "purchase",
                "customer_id": customer_id,
                "edition": "pro",
                "domain": domain,
            },
        )
    )
    pi = order["payment"]["payment_intent_id"]
    deliver(client, stripe_event("payment_intent.succeeded", intent(pi, charge=f"ch_{pi}")))
    refund = stripe_event(
        "charge.refunded", charge(pi, charge_id=f"ch_{pi}", amount=30000, refunded=30000)
    )
    return {"key": ok(checkout.get(f"/v1/orders/{order['id']}"))["license_key"], "refund": refund}


def deliver(client: FlaskClient, event: dict[str, Any]) -> None:
    body, headers = signed(event)
    assert client.post("/v1/stripe/webhook", data=body, headers=headers).status_code == 200


def test_d21_a_revoked_license_is_409_license_inactive(
    client: FlaskClient, admin: Api, checkout: Api, gateway: FakeGateway
) -> None:
    seller, buyer = new_customer(admin)["id"], new_customer(admin)["id"]
    license = bought(client, checkout, seller, "revoked.example.com")
    deliver(client, license["refund"])
    problem(transfer(admin, license["key"], buyer), 409, "LICENSE_INACTIVE")


def test_d21_a_license_revoked_after_its_transfer_is_inactive_to_its_owner_at_each_instant(
    client: FlaskClient, admin: Api, checkout: Api, helpdesk: Api, gateway: FakeGateway
) -> None:
    seller, buyer = new_customer(admin)["id"], new_customer(admin)["id"]
    import_license(admin, customer_id=seller, domain="kept.example.com", purchased_at=PURCHASED)
    import_license(admin, customer_id=buyer, domain="own.example.com", purchased_at=PURCHASED)
    with time_machine.travel(TRANSFERRED_AT - timedelta(days=1), tick=False):
        sold = bought(client, checkout, seller, "sold.example.com")
    transferred(admin, sold["key"], buyer)
    with time_machine.travel(TRANSFERRED_AT + timedelta(days=1), tick=False):
        deliver(client, sold["refund"])
    domain = "sold.example.com"
    assert answer(helpdesk, seller, domain, BEFORE)[0] == "LICENSE_INACTIVE"
    assert answer(helpdesk, buyer, domain, BEFORE)[0] == "DOMAIN_NOT_LICENSED"
    assert answer(helpdesk, seller, domain, AT_TRANSFER)[0] == "DOMAIN_NOT_LICENSED"
    assert answer(helpdesk, buyer, domain, AT_TRANSFER)[0] == "LICENSE_INACTIVE"


def test_d21_a_partner_sold_license_keeps_its_channel_and_partner(
    admin: Api, helpdesk: Api
) -> None:
    partner = new_partner(admin)
    seller, buyer = new_customer(admin)["id"], new_customer(admin)["id"]
    license = import_license(
        admin,
        customer_id=seller,
        domain="resold.example.com",
        purchased_at=PURCHASED,
        channel="partner",
        partner_id=partner["id"],
    )
    moved = transferred(admin, license["key"], buyer)
    assert (moved["channel"], moved["partner_id"]) == ("partner", partner["id"])
    routed = ask(helpdesk, buyer, "resold.example.com", AT_TRANSFER)
    assert (routed["code"], routed["partner"]["id"]) == ("PARTNER_SUPPORTED", partner["id"])
    assert answer(helpdesk, seller, "resold.example.com", AT_TRANSFER)[0] == "NO_LICENSE"


def test_d21_entitlements_follow_the_new_owner_from_the_transfer_instant(
    admin: Api, helpdesk: Api
) -> None:
    seller, buyer = new_customer(admin)["id"], new_customer(admin)["id"]
    license = import_license(
        admin,
        customer_id=seller,
        domain="sold.example.com",
        edition="premium",
        purchased_at=PURCHASED,
    )
    transferred(admin, license["key"], buyer)
    domain = "sold.example.com"
    # Before the transfer the seller held it (R6) and was its owner (R8); the buyer had none.
    assert answer(helpdesk, seller, domain, BEFORE) == ("ALLOWED", "premium")
    assert answer(helpdesk, buyer, domain, BEFORE) == ("NO_LICENSE", "standard")
    # From the transfer instant on, the other way round.
    assert answer(helpdesk, seller, domain, AT_TRANSFER) == ("NO_LICENSE", "standard")
    assert answer(helpdesk, buyer, domain, AT_TRANSFER) == ("ALLOWED", "premium")
    now = ask(helpdesk, buyer, domain, "2026-12-01T12:00:00Z")
    assert (now["code"], now["license"]["key"]) == ("ALLOWED", license["key"])


def test_d21_each_owner_with_another_license_is_not_the_owner_outside_their_time(
    admin: Api, helpdesk: Api
) -> None:
    seller, buyer = new_customer(admin)["id"], new_customer(admin)["id"]
    import_license(admin, customer_id=seller, domain="stays.example.com", purchased_at=PURCHASED)
    import_license(admin, customer_id=buyer, domain="own.example.com", purchased_at=PURCHASED)
    sold = import_license(
        admin,
        customer_id=seller,
        domain="sold.example.com",
        edition="premium",
        purchased_at=PURCHASED,
    )
    transferred(admin, sold["key"], buyer)
    domain = "sold.example.com"
    assert answer(helpdesk, seller, domain, BEFORE) == ("ALLOWED", "premium")
    assert answer(helpdesk, buyer, domain, BEFORE) == ("NOT_LICENSE_OWNER", "pro")
    assert answer(helpdesk, seller, domain, AT_TRANSFER) == ("NOT_LICENSE_OWNER", "pro")
    assert answer(helpdesk, buyer, domain, AT_TRANSFER) == ("ALLOWED", "premium")
    # Consultations name the best edition held at `at` (R12).
    consult = f"department=consultation&at={BEFORE}"
    assert ok(helpdesk.get(f"/v1/entitlements?customer_id={buyer}&{consult}"))["priority"] == "pro"


def test_d21_the_support_window_does_not_start_again(admin: Api, helpdesk: Api) -> None:
    seller, buyer = new_customer(admin)["id"], new_customer(admin)["id"]
    old = import_license(
        admin, customer_id=seller, domain="old.example.com", purchased_at="2025-06-01T09:00:00Z"
    )
    transferred(admin, old["key"], buyer)
    given = ask(helpdesk, buyer, "old.example.com", AT_TRANSFER)
    assert given["code"] == "SUPPORT_WINDOW_ENDED"
    assert given["license"]["support_until"] == old["support_until"]


def test_d21_a_license_sold_on_and_back_answers_for_each_owner_in_turn(
    admin: Api, helpdesk: Api
) -> None:
    first, second = new_customer(admin)["id"], new_customer(admin)["id"]
    license = import_license(
        admin, customer_id=first, domain="twice.example.com", purchased_at=PURCHASED
    )
    back_at = TRANSFERRED_AT + timedelta(days=2)
    transferred(admin, license["key"], second)
    moved_back = transferred(admin, license["key"], first, at=back_at)
    lines = [line["data"] for line in moved_back["history"] if line["type"] == "transferred"]
    assert [(d["from_customer_id"], d["to_customer_id"]) for d in lines] == [
        (first, second),
        (second, first),
    ]
    owners = {
        BEFORE: first,
        AT_TRANSFER: second,
        "2026-11-27T12:00:00Z": second,
        "2026-11-28T12:00:00Z": first,
        "2026-12-01T12:00:00Z": first,
    }
    for at, owner in owners.items():
        other = second if owner == first else first
        assert answer(helpdesk, owner, "twice.example.com", at)[0] == "ALLOWED", at
        assert answer(helpdesk, other, "twice.example.com", at)[0] == "NO_LICENSE", at
    assert keys(admin, first) == [license["key"]] and keys(admin, second) == []
