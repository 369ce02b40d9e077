"""The HTTP API: blueprints, authentication, request checks and the OpenAPI document."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import UnsupportedMediaType
from werkzeug.routing import BaseConverter, IntegerConverter

from licensing.api import (
    accounts,
    catalog,
    certificates,
    checkout,
    health,
    helpdesk,
    licenses,
    metrics,
    notices,
    pages_account,
    pages_buy,
    pages_sign_in,
    paid_work,
    reports,
)
from licensing.api.auth import SECURITY_SCHEME, authenticate_request
from licensing.api.fields import text_without_nul
from licensing.api.hygiene import init_hygiene
from licensing.api.json_body import decode_json_body
from licensing.api.links import OpenApiLinks
from licensing.api.page_shell import init_pages
from licensing.api.problems import ProblemApi
from licensing.api.rate_limits import OFF, ValidateRateLimit, count_client
from licensing.api.request_metrics import init_request_metrics
from licensing.api.shared_schemas import JSON_VALUE
from licensing.settings import Settings

BLUEPRINTS = (
    health.blp,
    catalog.blp,
    accounts.blp,
    licenses.blp,
    certificates.blp,
    checkout.blp,
    notices.blp,
    helpdesk.blp,
    paid_work.blp,
    reports.blp,
    metrics.blp,
)
_BODY_METHODS = {"POST", "PUT", "PATCH"}
# The pages for people (D24): HTML forms with CSRF tokens, a cookie session, not in the
# OpenAPI document.
PAGES = (pages_buy.pages, pages_sign_in.pages, pages_account.pages)
_FORM_BLUEPRINTS = frozenset(page.name for page in PAGES)


class IdConverter(IntegerConverter):
    """A resource id in a path: 1 to the largest BIGINT, so no lookup can overflow."""

    MAX = 2**63 - 1

    def __init__(self, map, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(map, min=1, max=self.MAX)


class LicenseKeyConverter(BaseConverter):
    """A license key in a path: any segment but the names of the routes beside it
    (`/v1/licenses/validate` is only ever the POST route, so its `Allow` lists only POST)."""

    regex = r"(?!(?:validate|import|certificate)$)[^/]+"
    openapi = {"type": "string", "pattern": "^(?!(validate|import|certificate)$)[^/]+$"}


def require_json_body() -> None:
    """A body must be JSON; without this an XML or form body would read as 'missing fields'."""
    if request.method not in _BODY_METHODS or request.blueprint == "api-docs":
        return
    if request.blueprint in _FORM_BLUEPRINTS:  # the pages' forms, form-encoded
        return
    has_body = bool(request.content_length) or request.headers.get("Transfer-Encoding")
    if has_body and not request.is_json:
        raise UnsupportedMediaType("The request body must be sent as application/json.")


def init_api(app: Flask, settings: Settings) -> ProblemApi:
    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["license_key"] = LicenseKeyConverter
    if settings.validate_rate_limit != OFF:
        app.extensions["validate_rate_limit"] = ValidateRateLimit(
            settings.validate_rate_limit, settings.rate_limit_storage_url
        )
    api = ProblemApi(app, spec_kwargs={"extra_plugins": [OpenApiLinks()]})
    api.register_converter(
        IdConverter, lambda _: {"type": "integer", "minimum": 1, "maximum": IdConverter.MAX}
    )
    api.register_converter(LicenseKeyConverter, lambda _: dict(LicenseKeyConverter.openapi))
    api.spec.components.security_scheme("bearerAuth", SECURITY_SCHEME)
    api.ma_plugin.converter.add_attribute_function(text_without_nul)
    api.spec.components.schema("JsonValue", JSON_VALUE)
    init_hygiene(app, production=settings.is_production)
    init_request_metrics(app)
    # Authentication and scopes first, then the client's rate-limit hit, then the body's
    # type and its decoding, then (in the view) its fields.
    app.before_request(authenticate_request)
    app.before_request(count_client)
    app.before_request(require_json_body)
    app.before_request(decode_json_body)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    # HTML for people, behind signed links; not in the OpenAPI document.
    app.register_blueprint(paid_work.pages)
    app.register_blueprint(reports.pages)
    init_pages(app, settings)
    for page in PAGES:
        app.register_blueprint(page)
    return api
