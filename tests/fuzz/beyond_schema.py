"""The service's rules that no OpenAPI document can state, for the positive-data check.

JSON Schema sees one request at a time: not the database (does customer 7 exist?), not the
clock (is this instant in the future?), and not one query parameter depending on another.
A request the document calls valid may still be refused by one of these rules, with a 422
naming the field; each is written in its field's description in the document.

`explain` accepts such a refusal only when the rule really applies to the request sent
(the instant *is* in the past, `to` *is* before `from`), so a refusal for any other reason
(a loose document) still fails the check. The tally of each rule is printed after the run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from schemathesis import Case, Response

# The service's clock and the check's differ by the time the request took.
CLOCK_SLACK = timedelta(minutes=1)


def _instant(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)).astimezone(UTC)
    except ValueError:
        return None


def _inputs(case: Case) -> Mapping[str, Any]:
    """The request's named values: query, path and body fields together."""
    body = case.body if isinstance(case.body, dict) else {}
    return {**(case.path_parameters or {}), **(case.query or {}), **body}


def _is_past(name: str) -> Callable[[Mapping[str, Any]], bool]:
    def applies(values: Mapping[str, Any]) -> bool:
        at = _instant(values.get(name))
        return at is not None and at <= datetime.now(UTC) + CLOCK_SLACK

    return applies


def _is_future(name: str) -> Callable[[Mapping[str, Any]], bool]:
    def applies(values: Mapping[str, Any]) -> bool:
        at = _instant(values.get(name))
        return at is not None and at > datetime.now(UTC) - CLOCK_SLACK

    return applies


def _updates_before_purchase(values: Mapping[str, Any]) -> bool:
    bought, ends = _instant(values.get("purchased_at")), _instant(values.get("updates_until"))
    return bought is not None and ends is not None and ends < bought


def _out_of_order(values: Mapping[str, Any]) -> bool:
    """D18: `to` before `from`, or more than 120 months from `from` to `to`."""
    first, last = str(values.get("from", "")), str(values.get("to", ""))
    try:
        months = (int(last[:4]) - int(first[:4])) * 12 + int(last[5:7]) - int(first[5:7]) + 1
    except ValueError:
        return False
    return months < 1 or months > 120


def _no_quote(values: Mapping[str, Any]) -> bool:
    return values.get("department") == "warranty" and values.get("quote_id") in (None, "")


def _state(values: Mapping[str, Any]) -> bool:
    """What the database holds: whether a row exists, or whom it belongs to."""
    return True


@dataclass(frozen=True)
class Rule:
    name: str
    code: str
    field: str
    applies: Callable[[Mapping[str, Any]], bool]


RULES = (
    Rule("the customer exists", "CUSTOMER_NOT_FOUND", "customer_id", _state),
    Rule("the partner exists", "PARTNER_NOT_FOUND", "partner_id", _state),
    Rule("the version is a published release", "VERSION_UNKNOWN", "version", _state),
    Rule("a cursor given out here, its row still there", "VALIDATION_FAILED", "cursor", _state),
    Rule("the quote's license is its customer's", "VALIDATION_FAILED", "license_key", _state),
    Rule("a ban ends after now (R13)", "VALIDATION_FAILED", "ends_at", _is_past("ends_at")),
    Rule(
        "a purchase is not in the future",
        "VALIDATION_FAILED",
        "purchased_at",
        _is_future("purchased_at"),
    ),
    Rule(
        "updates do not end before the purchase",
        "VALIDATION_FAILED",
        "updates_until",
        _updates_before_purchase,
    ),
    Rule(
        "the move to the hosting is not in the future (R16)",
        "VALIDATION_FAILED",
        "moved_to_hosting_at",
        _is_future("moved_to_hosting_at"),
    ),
    Rule("to not before from, at most 120 months (D18)", "VALIDATION_FAILED", "to", _out_of_order),
    Rule("warranty questions name a quote", "VALIDATION_FAILED", "quote_id", _no_quote),
)


# README: "an oversized body (64 KiB) 413" - JSON Schema bounds each field, never the whole
# body, and a hundred quote lines of 2,000 characters each are valid and far larger.
BODY_LIMIT = 64 * 1024
TOO_LARGE = "a body of at most 64 KiB"


def explain(case: Case, response: Response) -> list[str] | None:
    """The rules that refused this request, when each field the 422 names is one that a
    rule beyond the schema refused (and the rule applies to what was sent), or a 413 for a
    body that is indeed over the limit; else None."""
    if response.status_code == 413:
        sent = response.request.body or b""
        return [TOO_LARGE] if len(sent) > BODY_LIMIT else None
    if response.status_code != 422:
        return None
    try:
        problem = response.json()
    except ValueError:
        return None
    fields = list((problem.get("errors") or {}).keys()) if isinstance(problem, dict) else []
    if not fields:
        return None
    values = _inputs(case)
    names = []
    for field in fields:
        rule = next(
            (
                rule
                for rule in RULES
                if rule.code == problem.get("code") and rule.field == field and rule.applies(values)
            ),
            None,
        )
        if rule is None:
            return None
        names.append(rule.name)
    return names
