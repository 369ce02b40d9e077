"""The API's Blueprint: flask-smorest's, reading JSON bodies only through `json_body`.

The hot paths (validate, certificate, entitlements) take `lean_arguments` and
`lean_response` instead of `arguments` and `response`: the OpenAPI document is the one
flask-smorest writes, but a request runs the schema's `load` directly, without webargs'
and flask-smorest's layers around it (about 60 us of the 0.4 ms such a request costs, issue
20), and its answer is written by a plain function the tests hold equal to the schema's
`dump`. Only for a flat schema read from the JSON body or the query string.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import Response, current_app, request
from webargs.flaskparser import abort
from webargs.multidictproxy import MultiDictProxy

from licensing.api.json_body import StrictJsonParser, json_body

F = Callable[..., Any]
_LOADERS: dict[str, tuple[Callable[[ma.Schema], Any], str | None]] = {
    # location: (its data, the `unknown` webargs would pass for it)
    "json": (lambda schema: json_body(), None),
    "query": (lambda schema: MultiDictProxy(request.args, schema), ma.EXCLUDE),
}


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = StrictJsonParser()

    def lean_arguments(self, schema: ma.Schema, *, location: str = "json") -> Callable[[F], F]:
        """`arguments(schema, location=...)` in the document; at request time the schema's
        `load`, answering a ValidationError as webargs does (422, messages by location)."""
        load_data, unknown = _LOADERS[location]
        options = {"unknown": unknown} if unknown else {}

        def decorate(func: F) -> F:
            @wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                data = load_data(schema)
                try:
                    loaded = schema.load({} if data is ma.missing else data, **options)
                except ma.ValidationError as error:
                    abort(422, exc=error, messages={location: error.messages})
                return func(*args, loaded, **kwargs)

            wrapper._apidoc = self.arguments(schema, location=location)(func)._apidoc  # type: ignore[attr-defined]
            return wrapper  # type: ignore[return-value]

        return decorate

    def lean_response(
        self, status_code: int, schema: ma.Schema, answer: Callable[[Any], Any]
    ) -> Callable[[F], F]:
        """`response(status_code, schema)` in the document; at request time `answer` writes
        the view's result as a plain dict, the schema's `dump` written out (about a quarter of
        its cost; tests/unit/test_hot_answers.py holds the two equal on generated results)."""

        def decorate(func: F) -> F:
            @wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                result = func(*args, **kwargs)
                if isinstance(result, Response):
                    return result
                response = current_app.json.response(answer(result))
                response.status_code = status_code
                return response

            wrapper._apidoc = self.response(status_code, schema)(func)._apidoc  # type: ignore[attr-defined]
            return wrapper  # type: ignore[return-value]

        return decorate
