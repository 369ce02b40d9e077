"""Answers written as JSON by orjson, with the standard provider's output (issue 20).

Flask's provider writes an answer through the standard library's `json`: the helpdesk's
answer costs about 20 us there, under 3 us in orjson. The text says the same thing: keys
sorted, no spaces, one newline after; what JSON has no type for goes through Flask's own
conversions (a date as an HTTP date, a Decimal or a UUID as text, a dataclass as an
object). orjson writes text beyond ASCII as UTF-8 where the standard library escapes it; the
body is UTF-8 either way. A value orjson does not take (an integer beyond 64 bits) is written
by the standard provider, as is an indented answer (debug mode).
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class OrjsonProvider(DefaultJSONProvider):
    """`app.json`: `jsonify` and every answer of the API go through `response`."""

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if (self.compact is None and self._app.debug) or self.compact is False:
            return super().response(*args, **kwargs)  # indented, for a person reading
        value = self._prepare_response_obj(args, kwargs)
        try:
            text = orjson.dumps(value, default=self.default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return super().response(value)
        return self._app.response_class(text + b"\n", mimetype=self.mimetype)
