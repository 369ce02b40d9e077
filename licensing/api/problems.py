"""RFC 9457 problem+json for every error the service can answer, from one table."""

from __future__ import annotations

import http
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import marshmallow as ma
from flask import Response, json
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from licensing.api.fields import Instant
from licensing.domain.errors import (
    BadSignature,
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    PaymentFailed,
    Unauthenticated,
    UpstreamUnavailable,
)
from licensing.domain.orders import OrderStatus
from licensing.domain.periods import rfc3339
from licensing.domain.quotes import QuoteStatus

PROBLEM_JSON = "application/problem+json"

log = logging.getLogger(__name__)

# Status of each kind of business error, in one table.
DOMAIN_STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    Unauthenticated: 401,
    Conflict: 409,
    Invalid: 422,
    PaymentFailed: 402,
    BadSignature: 400,
    UpstreamUnavailable: 502,
}

# Stable code of each framework error, by HTTP status.
HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_FAILED",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    502: "UPSTREAM_UNAVAILABLE",
    503: "SERVICE_UNAVAILABLE",
}


class ProblemSchema(ma.Schema):
    """An RFC 9457 problem document with the service's stable `code`.

    The members a `DomainError` adds (its `extra`) are listed here too, each optional and
    present only with the codes its description names, so that every answer conforms."""

    type = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String(required=True)
    code = ma.fields.String(required=True)
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        required=False,
        metadata={"description": "422: the messages of each invalid field (`lines.0.hours`)"},
    )
    current_state = ma.fields.String(
        validate=ma.validate.OneOf(sorted(set(QuoteStatus) | set(OrderStatus))),
        metadata={
            "description": "QUOTE_STATE: the status the quote is in now (D12); ORDER_STATE "
            "and ORDER_NOT_PAID: the status the order is in now (D20)"
        },
    )
    earliest_renewal_at = Instant(
        metadata={"description": "RENEWAL_TOO_EARLY: the first instant a renewal is allowed (D16)"}
    )
    customer_id = ma.fields.Integer(
        required=False,
        metadata={
            "description": "EMAIL_TAKEN: the customer who has the email (D24); left out for "
            "a partner's key when that customer is not its own (D26)"
        },
    )


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    errors: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    """Build a problem+json response; `errors` maps each invalid field to its messages."""
    body: dict[str, Any] = {
        "type": f"/problems/{code.lower().replace('_', '-')}",
        "title": http.HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = dict(errors)
    for name, value in (extra or {}).items():
        body[name] = rfc3339(value) if isinstance(value, datetime) else value
    # Compact and newline-terminated, like every other answer of the service.
    text = json.dumps(body, separators=(",", ":")) + "\n"
    response = Response(text, status=status, mimetype=PROBLEM_JSON)
    response.headers.update(headers or {})
    return response


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into `{"lines.0.hours": [...]}`."""
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_messages(value, name))
        return flat
    if isinstance(messages, list | tuple) and all(isinstance(m, str) for m in messages):
        return {prefix or "_body": list(messages)}
    return {prefix or "_body": [str(messages)]}


def _webargs_errors(error: HTTPException) -> dict[str, list[str]]:
    """webargs reports errors by location (json, query, path); callers know only fields."""
    messages = (getattr(error, "data", None) or {}).get("messages", {})
    flat: dict[str, list[str]] = {}
    for location_messages in messages.values():
        flat.update(flatten_messages(location_messages))
    return flat


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    code = HTTP_CODES.get(status, f"HTTP_{status}")
    # Headers the exception carries (Retry-After on 429, Allow on 405), not its content type.
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    data = getattr(error, "data", None) or {}
    headers.update(data.get("headers") or {})
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="licensing"'
    if status == 422:
        errors = _webargs_errors(error)
        return problem(422, code, "The request has invalid fields.", errors=errors, headers=headers)
    if status == 400 and data.get("messages"):
        return problem(
            400, "MALFORMED_JSON", "The request body is not valid JSON.", headers=headers
        )
    detail = data.get("message") or error.description or http.HTTPStatus(status).phrase
    return problem(status, data.get("code") or code, detail, headers=headers)


def handle_domain_error(error: DomainError) -> Response:
    status = next(
        (status for kind, status in DOMAIN_STATUS.items() if isinstance(error, kind)), 400
    )
    errors = error.errors if isinstance(error, Invalid) else None
    headers = {"WWW-Authenticate": 'Bearer realm="licensing"'} if status == 401 else None
    return problem(
        status, error.code, error.detail, errors=errors, extra=error.extra, headers=headers
    )


def handle_database_unavailable(error: DBAPIError) -> Response:
    log.error("database unavailable: %s", type(error.orig).__name__)
    return problem(503, "DATABASE_UNAVAILABLE", "The database cannot be reached; retry later.")


def handle_data_error(error: DataError) -> Response:
    """A value the database cannot hold: the request's fault, not the server's."""
    log.warning("value refused by the database: %s", type(error.orig).__name__)
    return problem(422, "VALUE_OUT_OF_RANGE", "A value in the request is out of range.")


def handle_too_deep(error: RecursionError) -> Response:
    return problem(400, "MALFORMED_JSON", "The request body is nested too deeply.")


def handle_unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    log.exception("unexpected error")
    return problem(500, "INTERNAL_ERROR", "An unexpected error occurred; it has been logged.")


class ProblemApi(Api):
    """flask-smorest's Api with problem+json errors in the answers and in the OpenAPI document."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        self._app.register_error_handler(HTTPException, handle_http_exception)
        self._app.register_error_handler(DomainError, handle_domain_error)
        self._app.register_error_handler(OperationalError, handle_database_unavailable)
        self._app.register_error_handler(DataError, handle_data_error)
        self._app.register_error_handler(RecursionError, handle_too_deep)
        self._app.register_error_handler(Exception, handle_unexpected)

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An error (problem+json)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)
