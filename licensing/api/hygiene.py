"""Every response's request id and security headers, and one JSON access-log line per request
that names its route template and the API key by id only: never a path, a key, a secret, a
body or a query string."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, current_app, g, request

access_log = logging.getLogger("licensing.access")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# Pages for people: inline styles and inline SVG, nothing else, from nowhere else.
PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
API_POLICY = "default-src 'none'; frame-ancestors 'none'"


def start_request() -> None:
    offered = request.headers.get("X-Request-Id", "")
    g.request_id = offered if _REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
    g.started = time.perf_counter()


def finish_request(response: Response) -> Response:
    response.headers["X-Request-Id"] = g.get("request_id", "")
    response.headers.update(current_app.config["SECURITY_HEADERS"])
    html = response.mimetype == "text/html"
    response.headers.setdefault("Content-Security-Policy", PAGE_POLICY if html else API_POLICY)
    if request.path.startswith("/v1/") or html:
        response.headers.setdefault("Cache-Control", "no-store")  # answers may be private
    principal = g.get("principal")
    access_log.info(
        "request",
        extra={
            "request_id": g.get("request_id"),
            "method": request.method,
            # The route's template, never the path (it may hold a license key) nor the query
            # string (it may hold a signed link's token); None when no route matched.
            "route": request.url_rule.rule if request.url_rule else None,
            "status": response.status_code,
            "duration_ms": round(
                (time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2
            ),
            "api_key_id": principal.key_id if principal else None,
            "client": request.remote_addr,  # behind trusted proxies, the client's
        },
    )
    return response


def init_hygiene(app: Flask, *, production: bool) -> None:
    headers = dict(SECURITY_HEADERS)
    if production:  # behind TLS: browsers should never come back over plain HTTP
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    app.config["SECURITY_HEADERS"] = headers
    app.before_request(start_request)
    app.after_request(finish_request)
