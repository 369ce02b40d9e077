"""OpenAPI links: which answer's ids feed which request, so that a client (or a stateful
fuzzer) can walk customer -> order -> payment -> license -> renewal quote."""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin

BODY = "$response.body#"


def _ref(path: str, method: str) -> str:
    """An `operationRef` to an operation of this document (JSON Pointer, RFC 6901)."""
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def link(
    path: str,
    method: str,
    description: str,
    *,
    body: dict[str, Any] | None = None,
    **parameters: str,
) -> dict[str, Any]:
    """A link to `method path`, its parameters (by name) and body taken from the answer."""
    definition: dict[str, Any] = {"operationRef": _ref(path, method), "description": description}
    if parameters:
        definition["parameters"] = parameters
    if body is not None:
        definition["requestBody"] = body
    return definition


def _customer(pointer: str) -> dict[str, dict[str, Any]]:
    """What a customer's id opens, wherever an answer carries one."""
    customer_id = f"{BODY}{pointer}"
    return {**_customer_resources(customer_id), **_customer_requests(customer_id)}


def _customer_resources(customer_id: str) -> dict[str, dict[str, Any]]:
    """The customer and what it holds, at paths under its id."""
    resources = {
        "GetCustomer": ("/v1/customers/{customer_id}", "The customer"),
        "CustomerLicenses": ("/v1/customers/{customer_id}/licenses", "The customer's licenses"),
        "CustomerBans": ("/v1/customers/{customer_id}/bans", "The customer's bans"),
    }
    return {
        name: link(path, "get", description, customer_id=customer_id)
        for name, (path, description) in resources.items()
    }


def _customer_requests(customer_id: str) -> dict[str, dict[str, Any]]:
    """Requests that name the customer in their body or query: a sale, an import, paid work,
    a ban, and what the desk owes it."""
    return {
        "BuyLicense": link(
            "/v1/orders",
            "post",
            "An order for a Pro license on a domain of the customer's own",
            body={
                "kind": "purchase",
                "customer_id": customer_id,
                "edition": "pro",
                "domain": f"shop-{{{customer_id}}}.example.com",
            },
        ),
        "ImportLicense": link(
            "/v1/licenses/import",
            "post",
            "A license the customer bought before this service existed",
            body={"customer_id": customer_id, "channel": "direct"},
        ),
        "QuoteWork": link(
            "/v1/quotes",
            "post",
            "A quote of paid work for the customer",
            body={"customer_id": customer_id},
        ),
        "BanCustomer": link(
            "/v1/bans", "post", "Ban the customer from the desk", body={"customer_id": customer_id}
        ),
        "Entitlement": link(
            "/v1/entitlements", "get", "What the desk owes the customer", customer_id=customer_id
        ),
    }


def _license(pointer: str) -> dict[str, dict[str, Any]]:
    """What a license key opens, wherever an answer carries one."""
    key = f"{BODY}{pointer}"
    return {
        "GetLicense": link("/v1/licenses/{key}", "get", "The license", key=key),
        "RenewalQuote": link(
            "/v1/licenses/{key}/renewal-quote", "get", "What renewing it costs now", key=key
        ),
        "RenewLicense": link(
            "/v1/orders",
            "post",
            "An order renewing its updates subscription",
            body={"kind": "renewal", "license_key": key},
        ),
        "MoveLicense": link(
            "/v1/licenses/{key}/domain", "put", "Move it to another domain", key=key
        ),
        "UpgradeLicense": link(
            "/v1/orders",
            "post",
            "An order upgrading it to Premium (D19)",
            body={"kind": "upgrade", "license_key": key, "edition": "premium"},
        ),
        "TransferLicense": link(
            "/v1/licenses/{key}/transfer", "post", "Give it to another customer (D21)", key=key
        ),
    }


def _order(pointer: str) -> dict[str, dict[str, Any]]:
    order_id = f"{BODY}{pointer}"
    return {
        "GetOrder": link("/v1/orders/{order_id}", "get", "The order", order_id=order_id),
        "CancelOrder": link(
            "/v1/orders/{order_id}/cancel", "post", "Cancel it unpaid (D20)", order_id=order_id
        ),
        "RefundOrder": link(
            "/v1/orders/{order_id}/refund", "post", "Refund it once paid (D20)", order_id=order_id
        ),
    }


def _quote(pointer: str) -> dict[str, dict[str, Any]]:
    quote_id = f"{BODY}{pointer}"
    steps = {
        "GetQuote": ("/v1/quotes/{quote_id}", "get", "The quote"),
        "ChangeLines": ("/v1/quotes/{quote_id}/lines", "put", "Replace its lines (draft only)"),
        "SendQuote": ("/v1/quotes/{quote_id}/send", "post", "Send it to the customer"),
        "AcceptQuote": ("/v1/quotes/{quote_id}/accept", "post", "Accept it: an order pays it"),
        "CompleteQuote": ("/v1/quotes/{quote_id}/complete", "post", "The work is done"),
        "CancelQuote": ("/v1/quotes/{quote_id}/cancel", "post", "Cancel it"),
        "QuoteLink": ("/v1/quotes/{quote_id}/link", "post", "A link to its page"),
    }
    return {
        name: link(path, method, description, quote_id=quote_id)
        for name, (path, method, description) in steps.items()
    }


# Stripe's answer to an order: the webhook that says its PaymentIntent succeeded (a client
# never sends it; a test playing Stripe does, signed with the endpoint secret).
PAY = link(
    "/v1/stripe/webhook",
    "post",
    "Stripe's payment_intent.succeeded for the order's PaymentIntent",
    body={
        "id": f"evt_paid_{{{BODY}/payment/payment_intent_id}}",
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": f"{BODY}/payment/payment_intent_id",
                "object": "payment_intent",
                "status": "succeeded",
                "latest_charge": f"ch_{{{BODY}/id}}",
            }
        },
    },
)

# By (path, method, status): the links of that answer.
LINKS: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {
    ("/v1/customers", "post", "201"): _customer("/id"),
    ("/v1/customers/{customer_id}", "get", "200"): _customer("/id"),
    ("/v1/orders", "post", "201"): {**_order("/id"), "PayOrder": PAY},
    ("/v1/orders/{order_id}", "get", "200"): {**_license("/license_key"), "PayOrder": PAY},
    ("/v1/licenses/import", "post", "201"): _license("/key"),
    ("/v1/partners/{partner_id}/licenses", "post", "201"): _license("/key"),
    ("/v1/licenses/{key}", "get", "200"): {
        **_license("/key"),
        "ValidateLicense": link(
            "/v1/licenses/validate",
            "post",
            "What a shop on its domain asks",
            body={"key": f"{BODY}/key", "domain": f"{BODY}/domain"},
        ),
    },
    ("/v1/customers/{customer_id}/licenses", "get", "200"): _license("/items/0/key"),
    ("/v1/quotes", "post", "201"): _quote("/id"),
    ("/v1/quotes/{quote_id}/accept", "post", "200"): _order("/order_id"),
    ("/v1/partners", "post", "201"): {
        "GetPartner": link(
            "/v1/partners/{partner_id}", "get", "The partner", partner_id=f"{BODY}/id"
        ),
        "PartnerSale": link(
            "/v1/partners/{partner_id}/licenses",
            "post",
            "Record a sale of the partner's",
            partner_id=f"{BODY}/id",
        ),
    },
    ("/v1/bans", "post", "201"): {
        "LiftBan": link("/v1/bans/{ban_id}/lift", "post", "Lift the ban", ban_id=f"{BODY}/id")
    },
    ("/v1/subscribers", "post", "201"): {
        "DisableSubscriber": link(
            "/v1/subscribers/{subscriber_id}/disable",
            "post",
            "Stop sending to it",
            subscriber_id=f"{BODY}/id",
        )
    },
    ("/v1/notices/dead-letters", "get", "200"): {
        "RetryDelivery": link(
            "/v1/notices/dead-letters/{delivery_id}/retry",
            "post",
            "Try the delivery again",
            delivery_id=f"{BODY}/items/0/id",
        )
    },
}


class OpenApiLinks(BasePlugin):
    """An apispec plugin writing `LINKS` into the responses they belong to."""

    def operation_helper(
        self, path: str | None = None, operations: dict | None = None, **kwargs: Any
    ) -> None:
        for method, operation in (operations or {}).items():
            for status, response in (operation.get("responses") or {}).items():
                links = LINKS.get((path or "", method, str(status)))
                if links and isinstance(response, dict):
                    response["links"] = links
