"""`GET /v1/entitlements`: one row per code and department, built through the public API
only (R4-R13, D9-D11, D14)."""

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
from tests.fakes import FakeGateway, charge, dispute, intent, signed, stripe_event
from tests.statements import statements_sent

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday, 15:00 in Moscow: desk open
RECENT = "2026-11-20T09:00:00Z"  # support until 2026-12-20T09:00:00Z
OLD = "2025-06-01T09:00:00Z"  # support ended 2025-07-01


@pytest.fixture
def helpdesk(app: Flask, client: FlaskClient) -> Api:
    return Api(client, make_key(app, "helpdesk"))


def ask(
    helpdesk: Api, customer_id: int, department: str = "technical_support", **query: str
) -> dict[str, Any]:
    params = "&".join(
        f"{k}={v}"
        for k, v in {
            "customer_id": customer_id,
            "department": department,
            "at": "2026-11-26T12:00:00Z",
            **query,
        }.items()
    )
    return ok(helpdesk.get(f"/v1/entitlements?{params}"))


@pytest.fixture
def world(
    app: Flask, client: FlaskClient, admin: Api, checkout: Api, gateway: FakeGateway
) -> dict[str, Any]:
    """Customers and licenses for every code, all made through the API."""
    with time_machine.travel(NOW - timedelta(hours=1), tick=False):
        premium = new_customer(admin)
        import_license(
            admin,
            customer_id=premium["id"],
            domain="premium.example.com",
            edition="premium",
            purchased_at=RECENT,
        )
        import_license(
            admin,
            customer_id=premium["id"],
            domain="old.example.com",
            edition="pro",
            purchased_at=OLD,
        )
        partner = new_partner(admin, support_url="https://partner.example/help")
        import_license(
            admin,
            customer_id=premium["id"],
            domain="resold.example.com",
            channel="partner",
            partner_id=partner["id"],
            purchased_at=RECENT,
        )
        nobody = new_customer(admin)
        banned = new_customer(admin)
        import_license(
            admin, customer_id=banned["id"], domain="banned.example.com", purchased_at=RECENT
        )
        ban = created(
            Api(client, make_key(app, "helpdesk")).post(
                "/v1/bans", json={"customer_id": banned["id"], "reason": "abuse", "note": "insults"}
            )
        )
        # R6 reading: only a refunded license (owns nothing) / a live one beside a refunded
        # one (owns a license) / only a suspended one (suspended is live: owns a license).
        refunded = new_customer(admin)
        bought(client, checkout, refunded["id"], "refunded.example.com", "refund")
        mixed = new_customer(admin)
        import_license(
            admin, customer_id=mixed["id"], domain="kept.example.com", purchased_at=RECENT
        )
        bought(client, checkout, mixed["id"], "gone.example.com", "refund")
        suspended = new_customer(admin)
        bought(client, checkout, suspended["id"], "disputed.example.com", "dispute")
    return {
        "premium": premium["id"],
        "nobody": nobody["id"],
        "banned": banned["id"],
        "ban": ban,
        "refunded": refunded["id"],
        "mixed": mixed["id"],
        "suspended": suspended["id"],
        "partner": partner,
    }


def bought(
    client: FlaskClient, checkout: Api, customer_id: int, domain: str, then: str
) -> dict[str, Any]:
    """A Pro purchase paid through Stripe, then fully refunded (D9: revoked) or disputed
    (D9: suspended)."""
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
    after = {
        "refund": stripe_event(
            "charge.refunded", charge(pi, charge_id=f"ch_{pi}", amount=30000, refunded=30000)
        ),
        "dispute": stripe_event(
            "charge.dispute.created", dispute(pi, charge_id=f"ch_{pi}", status="needs_response")
        ),
    }[then]
    for stripe in (stripe_event("payment_intent.succeeded", intent(pi, charge=f"ch_{pi}")), after):
        body, headers = signed(stripe)
        assert client.post("/v1/stripe/webhook", data=body, headers=headers).status_code == 200
    return order


ROWS = [
    # (who, department, domain, allowed, code, priority)
    ("banned", "technical_support", "banned.example.com", False, "BANNED", "pro"),
    ("banned", "consultation", None, False, "BANNED", "pro"),
    ("nobody", "consultation", None, True, "ALLOWED", "standard"),
    ("premium", "consultation", None, True, "ALLOWED", "premium"),
    ("nobody", "technical_support", "premium.example.com", False, "NO_LICENSE", "standard"),
    ("premium", "technical_support", None, False, "DOMAIN_REQUIRED", "premium"),
    (
        "premium",
        "technical_support",
        "nowhere.example.com",
        False,
        "DOMAIN_NOT_LICENSED",
        "premium",
    ),
    ("refunded", "technical_support", "refunded.example.com", False, "NO_LICENSE", "standard"),
    ("mixed", "technical_support", "premium.example.com", False, "NOT_LICENSE_OWNER", "pro"),
    ("premium", "technical_support", "resold.example.com", False, "PARTNER_SUPPORTED", "pro"),
    ("mixed", "technical_support", "gone.example.com", False, "LICENSE_INACTIVE", "pro"),
    ("premium", "technical_support", "old.example.com", False, "SUPPORT_WINDOW_ENDED", "pro"),
    (
        "premium",
        "technical_support",
        "https://WWW.Premium.example.com/",
        True,
        "ALLOWED",
        "premium",
    ),
]


@pytest.mark.parametrize(("who", "department", "domain", "allowed", "code", "priority"), ROWS)
def test_check_order_one_row_per_code_and_department(
    world: dict[str, Any],
    helpdesk: Api,
    who: str,
    department: str,
    domain: str | None,
    allowed: bool,
    code: str,
    priority: str,
) -> None:
    """Every code of the documented check order (R4-R13, D9, D11) with the parts every answer
    carries (R14's rate, D10's desk); each rule's own test follows below."""
    answer = ask(helpdesk, world[who], department, **({"domain": domain} if domain else {}))
    assert (answer["allowed"], answer["code"], answer["priority"]) == (allowed, code, priority)
    assert answer["department"] == department
    assert answer["paid_work"] == {"rate_per_hour": {"amount": 3000, "currency": "USD"}}  # R14
    assert answer["desk"] == {
        "open_now": True,
        "next_opening": "2026-11-26T12:00:00Z",
        "clock_starts_at": "2026-11-26T12:00:00Z",
        "first_response_due": "2026-11-27T12:00:00Z",
    }
    if code == "BANNED":
        assert answer["ban"] == {"id": world["ban"]["id"], "reason": "abuse", "ends_at": None}
    if code == "PARTNER_SUPPORTED":
        partner = world["partner"]
        assert answer["partner"] == {
            "id": partner["id"],
            "name": partner["name"],
            "support_email": partner["support_email"],
            "support_url": "https://partner.example/help",
        }
    if code in ("NOT_LICENSE_OWNER", "DOMAIN_NOT_LICENSED", "NO_LICENSE"):
        assert "license" not in answer  # never another account's license
    if code == "ALLOWED" and department == "technical_support":
        assert (
            answer["license"]["edition"] == "premium" and answer["domain"] == "premium.example.com"
        )
        assert answer["license"]["support_until"] == "2026-12-20T09:00:00Z"


def licenses_of(admin: Api, customer_id: int) -> dict[str, dict[str, Any]]:
    """The customer's licenses by domain, as the licenses API shows them."""
    items = ok(admin.get(f"/v1/customers/{customer_id}/licenses"))["items"]
    return {license["domain"]: license for license in items}


def verdict(answer: dict[str, Any]) -> tuple[bool, str, str]:
    return answer["allowed"], answer["code"], answer["priority"]


def test_r5_consultations_are_open_with_or_without_a_license(
    world: dict[str, Any], helpdesk: Api
) -> None:
    """R5: no license, only a refunded one, a suspended one, a support window long over
    (R4: consultation mode): a consultation is allowed, no domain asked."""
    answers = {
        who: ask(helpdesk, world[who], "consultation")
        for who in ("nobody", "refunded", "suspended", "premium")
    }
    assert {who: verdict(answer) for who, answer in answers.items()} == {
        "nobody": (True, "ALLOWED", "standard"),
        "refunded": (True, "ALLOWED", "standard"),
        "suspended": (True, "ALLOWED", "pro"),
        "premium": (True, "ALLOWED", "premium"),
    }
    assert all("license" not in answer for answer in answers.values())
    window_over = ask(helpdesk, world["premium"], "consultation", domain="old.example.com")
    assert verdict(window_over) == (True, "ALLOWED", "premium")
    assert ask(helpdesk, world["premium"], domain="old.example.com")["code"] == (
        "SUPPORT_WINDOW_ENDED"
    )


def test_r6_a_customer_whose_only_license_was_refunded_gets_no_license(
    world: dict[str, Any], admin: Api, helpdesk: Api
) -> None:
    """R6 reading: a refunded (so revoked, D9) license is not owned. Whatever domain they
    name, even the refunded license's own, the answer is NO_LICENSE at standard priority and
    shows no license; consultations stay open (R6)."""
    owned = licenses_of(admin, world["refunded"])
    assert {domain: license["status"] for domain, license in owned.items()} == {
        "refunded.example.com": "revoked"
    }
    for domain in ("refunded.example.com", "premium.example.com", "nowhere.example.com", None):
        answer = ask(helpdesk, world["refunded"], **({"domain": domain} if domain else {}))
        assert verdict(answer) == (False, "NO_LICENSE", "standard"), domain
        assert "license" not in answer and "partner" not in answer, domain
    assert verdict(ask(helpdesk, world["refunded"], "consultation")) == (
        True,
        "ALLOWED",
        "standard",
    )


def test_r6_a_live_license_beside_a_refunded_one_keeps_the_domain_checks(
    world: dict[str, Any], admin: Api, helpdesk: Api
) -> None:
    """R6 reading: one live license is enough to own a license; the asked domain is then
    checked as before: their own refunded domain is LICENSE_INACTIVE (D9), naming that
    license. A suspended license is live too (D9: until the dispute closes)."""
    mixed = licenses_of(admin, world["mixed"])
    assert {domain: license["status"] for domain, license in mixed.items()} == {
        "kept.example.com": "active",
        "gone.example.com": "revoked",
    }
    gone = ask(helpdesk, world["mixed"], domain="gone.example.com")
    assert verdict(gone) == (False, "LICENSE_INACTIVE", "pro")
    assert gone["license"]["key"] == mixed["gone.example.com"]["key"]
    assert verdict(ask(helpdesk, world["mixed"], domain="kept.example.com")) == (
        True,
        "ALLOWED",
        "pro",
    )
    suspended = licenses_of(admin, world["suspended"])["disputed.example.com"]
    assert suspended["status"] == "suspended"
    disputed = ask(helpdesk, world["suspended"], domain="disputed.example.com")
    assert verdict(disputed) == (False, "LICENSE_INACTIVE", "pro")
    assert disputed["license"]["key"] == suspended["key"]
    assert ask(helpdesk, world["suspended"])["code"] == "DOMAIN_REQUIRED"


def test_r7_technical_support_is_bound_to_the_domain_of_one_of_the_customers_licenses(
    world: dict[str, Any], admin: Api, helpdesk: Api
) -> None:
    """R7: no domain, or a domain none of their licenses is bound to, opens nothing; their
    license's domain, in any form D3 reduces to it, opens the desk on that license."""
    no_domain = ask(helpdesk, world["premium"])
    assert verdict(no_domain) == (False, "DOMAIN_REQUIRED", "premium")
    assert "license" not in no_domain and "domain" not in no_domain
    elsewhere = ask(helpdesk, world["premium"], domain="nowhere.example.com")
    assert verdict(elsewhere) == (False, "DOMAIN_NOT_LICENSED", "premium")
    assert elsewhere["domain"] == "nowhere.example.com" and "license" not in elsewhere
    own = ask(helpdesk, world["premium"], domain="https://WWW.Premium.example.com/path")
    assert verdict(own) == (True, "ALLOWED", "premium")
    assert own["domain"] == "premium.example.com"
    assert own["license"] == {
        "key": licenses_of(admin, world["premium"])["premium.example.com"]["key"],
        "edition": "premium",
        "channel": "direct",
        "support_until": "2026-12-20T09:00:00Z",
        "updates_until": "2027-11-20T09:00:00Z",
    }


def test_r8_support_is_given_only_to_the_account_the_license_is_registered_to(
    world: dict[str, Any], helpdesk: Api
) -> None:
    """R8: a licensed customer naming another account's domain is NOT_LICENSE_OWNER, at
    their own priority, and learns nothing of that license; the owner is served."""
    stranger = ask(helpdesk, world["mixed"], domain="premium.example.com")
    assert verdict(stranger) == (False, "NOT_LICENSE_OWNER", "pro")
    assert "license" not in stranger and "partner" not in stranger
    other_way = ask(helpdesk, world["premium"], domain="kept.example.com")
    assert verdict(other_way) == (False, "NOT_LICENSE_OWNER", "premium")
    assert "license" not in other_way
    owner = ask(helpdesk, world["premium"], domain="premium.example.com")
    assert verdict(owner) == (True, "ALLOWED", "premium")


def test_r9_a_partner_sold_license_names_the_partner_instead_of_opening_the_desk(
    world: dict[str, Any], helpdesk: Api
) -> None:
    """R9 (R3): inside its support window, a partner-sold license is still not the vendor
    desk's: the answer names the partner and its contacts."""
    answer = ask(helpdesk, world["premium"], domain="resold.example.com")
    assert verdict(answer) == (False, "PARTNER_SUPPORTED", "pro")
    partner = world["partner"]
    assert answer["partner"] == {
        "id": partner["id"],
        "name": partner["name"],
        "support_email": partner["support_email"],
        "support_url": "https://partner.example/help",
    }
    assert answer["license"]["channel"] == "partner"
    assert answer["license"]["support_until"] == "2026-12-20T09:00:00Z"  # R4 would allow it
    direct = ask(helpdesk, world["premium"], domain="premium.example.com")
    assert "partner" not in direct


def test_r12_premium_holders_are_served_before_pro_holders(
    world: dict[str, Any], admin: Api, helpdesk: Api
) -> None:
    """R12: the priority is the asked license's edition (else the best live one held, else
    standard), and the catalog ranks Premium above Pro, so a queue ordered by it serves the
    Premium ticket first."""
    tickets = {
        "premium site": ask(helpdesk, world["premium"], domain="premium.example.com"),
        "pro site of a premium holder": ask(helpdesk, world["premium"], domain="old.example.com"),
        "pro holder": ask(helpdesk, world["mixed"], domain="kept.example.com"),
        "no license": ask(helpdesk, world["nobody"], "consultation"),
    }
    assert {name: answer["priority"] for name, answer in tickets.items()} == {
        "premium site": "premium",
        "pro site of a premium holder": "pro",
        "pro holder": "pro",
        "no license": "standard",
    }
    rank = {e["code"]: e["priority"] for e in ok(admin.get("/v1/editions"))["items"]}
    assert rank["premium"] > rank["pro"]
    served = sorted(tickets, key=lambda name: -rank.get(tickets[name]["priority"], 0))
    assert served[0] == "premium site" and served[-1] == "no license"


def test_r13_a_ban_closes_both_departments_until_it_is_lifted(
    world: dict[str, Any], helpdesk: Api
) -> None:
    """R13 (D11): a banned customer with a license in its support window gets BANNED for
    technical support and for consultations, naming the ban; once lifted, both open."""
    ban = {"id": world["ban"]["id"], "reason": "abuse", "ends_at": None}
    support = ask(helpdesk, world["banned"], domain="banned.example.com")
    consultation = ask(helpdesk, world["banned"], "consultation")
    assert verdict(support) == verdict(consultation) == (False, "BANNED", "pro")
    assert support["ban"] == consultation["ban"] == ban
    assert "license" not in support
    with time_machine.travel(NOW, tick=False):
        ok(helpdesk.post(f"/v1/bans/{world['ban']['id']}/lift"))
    support = ask(helpdesk, world["banned"], domain="banned.example.com")
    consultation = ask(helpdesk, world["banned"], "consultation")
    assert (verdict(support), verdict(consultation)) == (
        (True, "ALLOWED", "pro"),
        (True, "ALLOWED", "pro"),
    )
    assert "ban" not in support and "ban" not in consultation


def test_d14_support_until_is_inclusive_one_second_later_is_over(
    world: dict[str, Any], helpdesk: Api
) -> None:
    at_end = ask(
        helpdesk, world["premium"], domain="premium.example.com", at="2026-12-20T09:00:00Z"
    )
    after = ask(helpdesk, world["premium"], domain="premium.example.com", at="2026-12-20T09:00:01Z")
    assert (at_end["code"], after["code"]) == ("ALLOWED", "SUPPORT_WINDOW_ENDED")


def test_d11_a_ban_applies_before_its_end_not_at_it_and_at_answers_as_it_stood(
    app: Flask, client: FlaskClient, admin: Api, helpdesk: Api
) -> None:
    customer = new_customer(admin)["id"]
    with time_machine.travel(NOW, tick=False):
        ban = created(
            helpdesk.post(
                "/v1/bans",
                json={
                    "customer_id": customer,
                    "reason": "spam",
                    "note": "copies",
                    "ends_at": "2026-12-01T00:00:00Z",
                },
            )
        )
    assert ban["starts_at"] == "2026-11-26T12:00:00Z" and ban["set_by"].startswith("api_key:")
    before = ask(helpdesk, customer, "consultation", at="2026-11-26T11:59:59Z")
    during = ask(helpdesk, customer, "consultation", at="2026-11-30T23:59:59Z")
    at_end = ask(helpdesk, customer, "consultation", at="2026-12-01T00:00:00Z")
    assert (before["code"], during["code"], at_end["code"]) == ("ALLOWED", "BANNED", "ALLOWED")
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        lifted = ok(helpdesk.post(f"/v1/bans/{ban['id']}/lift"))
    assert lifted["lifted_at"] == "2026-11-27T12:00:00Z"
    assert ask(helpdesk, customer, "consultation", at="2026-11-27T11:59:59Z")["code"] == "BANNED"
    assert ask(helpdesk, customer, "consultation", at="2026-11-27T12:00:00Z")["code"] == "ALLOWED"
    history = ok(helpdesk.get(f"/v1/customers/{customer}"))["history"]
    assert [(e["type"], e["actor"] == ban["set_by"]) for e in history] == [
        ("ban_set", True),
        ("ban_lifted", True),
    ]
    listed = ok(helpdesk.get(f"/v1/customers/{customer}/bans"))["items"]
    assert [b["id"] for b in listed] == [ban["id"]]
    problem(helpdesk.post(f"/v1/bans/{ban['id']}/lift"), 409, "BAN_ALREADY_LIFTED")


def test_ban_input_is_validated(admin: Api, helpdesk: Api) -> None:
    customer = new_customer(admin)["id"]
    past = {
        "customer_id": customer,
        "reason": "abuse",
        "note": "x",
        "ends_at": "2020-01-01T00:00:00Z",
    }
    assert (
        "ends_at"
        in problem(helpdesk.post("/v1/bans", json=past), 422, "VALIDATION_FAILED")["errors"]
    )
    bad = {"customer_id": customer, "reason": "rude", "note": "x"}
    assert (
        "reason" in problem(helpdesk.post("/v1/bans", json=bad), 422, "VALIDATION_FAILED")["errors"]
    )
    unknown = {**bad, "reason": "spam", "customer_id": 999999}  # a body naming no customer
    assert (
        "customer_id"
        in problem(helpdesk.post("/v1/bans", json=unknown), 422, "CUSTOMER_NOT_FOUND")["errors"]
    )
    problem(helpdesk.post("/v1/bans/999999/lift"), 404, "BAN_NOT_FOUND")


def test_r10_version_current_and_unknown_version(
    world: dict[str, Any], admin: Api, helpdesk: Api
) -> None:
    created(
        admin.post("/v1/releases", json={"version": "5.0", "released_at": "2026-01-01T00:00:00Z"})
    )
    created(
        admin.post("/v1/releases", json={"version": "5.1", "released_at": "2026-06-01T00:00:00Z"})
    )
    assert (
        ask(helpdesk, world["premium"], domain="premium.example.com", version="5.1")[
            "version_current"
        ]
        is True
    )
    assert (
        ask(helpdesk, world["premium"], domain="premium.example.com", version="5.0")[
            "version_current"
        ]
        is False
    )
    response = helpdesk.get(
        f"/v1/entitlements?customer_id={world['premium']}&department=technical_support&version=9.9"
    )
    assert "version" in problem(response, 422, "VERSION_UNKNOWN")["errors"]


def test_bad_queries_are_422_naming_the_field(world: dict[str, Any], helpdesk: Api) -> None:
    for query, field in (
        ("department=technical_support", "customer_id"),
        (f"customer_id={world['premium']}&department=sales", "department"),
        (f"customer_id={world['premium']}&department=technical_support&domain=localhost", "domain"),
        (f"customer_id={world['premium']}&department=technical_support&at=noon", "at"),
    ):
        response = helpdesk.get(f"/v1/entitlements?{query}")
        assert response.status_code == 422 and field in response.get_json()["errors"], query
    problem(
        helpdesk.get("/v1/entitlements?customer_id=999999&department=consultation"),
        404,
        "CUSTOMER_NOT_FOUND",
    )


def test_the_hot_path_issues_at_most_two_sql_statements(app: Flask, world: dict[str, Any]) -> None:
    from licensing.domain.entitlements import Department
    from licensing.services.entitlements import entitlement

    with statements_sent(app) as statements, app.app_context():
        answer = entitlement(
            customer_id=world["premium"],
            department=Department.TECHNICAL_SUPPORT,
            domain="premium.example.com",
            version=None,
            at=NOW,
        )
    assert answer.decision.code == "ALLOWED"
    assert 1 <= len(statements) <= 2, statements
