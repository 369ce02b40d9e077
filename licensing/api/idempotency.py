"""The `Idempotency-Key` header on creating POSTs (contract: Conventions)."""

from __future__ import annotations

import functools
import json
import operator
import re
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from flask import Response, jsonify, make_response, request
from flask_smorest.utils import deepupdate

from licensing.api.auth import current_principal
from licensing.clock import utcnow
from licensing.domain.errors import Invalid
from licensing.services import idempotency
from licensing.services.transactions import unit_of_work

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, no spaces
_DOC = {
    "parameters": [
        {
            "in": "header",
            "name": HEADER,
            "required": False,
            "schema": {"type": "string", "pattern": f"^{_KEY.pattern}$"},
            "description": "Retrying with the same key and body returns the first answer.",
        }
    ]
}


@dataclass(frozen=True)
class Withheld:
    """A field of the answer never kept with it (stored as null): a replay shows what
    `current(answer)` gives at that moment, e.g. a client secret only while it may be used."""

    path: tuple[str, ...]
    current: Callable[[dict[str, Any]], Any]

    def stored(self, body: str) -> str:
        return self._set(body, lambda answer: None)

    def replayed(self, body: str) -> str:
        return self._set(body, self.current)

    def _set(self, body: str, value: Callable[[dict[str, Any]], Any]) -> str:
        answer = json.loads(body)
        *parents, name = self.path
        functools.reduce(operator.getitem, parents, answer)[name] = value(answer)
        return jsonify(answer).get_data(as_text=True)  # written as the view wrote the first


def idempotent(
    view: Callable[..., Any] | None = None, /, *, withheld: Withheld | None = None
) -> Any:
    """Replay the first answer for a repeated key; 409 IDEMPOTENCY_KEY_REUSED for another body.

    The claim, the use case's effect and the stored answer are one unit of work: they commit
    together, or a failed attempt leaves nothing and its retry runs again."""
    if view is None:
        return functools.partial(idempotent, withheld=withheld)

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not _KEY.fullmatch(key):
            raise Invalid.field(
                HEADER, "An Idempotency-Key has 1 to 255 printable ASCII characters and no spaces."
            )
        owner = current_principal().key_id
        request_hash = idempotency.fingerprint(request.method, request.path, request.get_data())
        with unit_of_work():
            stored = idempotency.claim(
                api_key_id=owner, key=key, request_hash=request_hash, now=utcnow()
            )
            if stored is not None:
                return _replayed(stored, withheld)
            response = make_response(view(*args, **kwargs))
            body = response.get_data(as_text=True)
            idempotency.record(
                api_key_id=owner,
                key=key,
                status=response.status_code,
                body=withheld.stored(body) if withheld else body,
            )
        return response

    apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
    apidoc["manual_doc"] = deepupdate(deepcopy(apidoc.get("manual_doc", {})), _DOC)
    wrapper._apidoc = apidoc  # type: ignore[attr-defined]
    return wrapper


def _replayed(stored: idempotency.StoredResponse, withheld: Withheld | None) -> Response:
    body = withheld.replayed(stored.body) if withheld else stored.body
    replay = Response(body, status=stored.status, mimetype="application/json")
    replay.headers["Idempotent-Replayed"] = "true"
    return replay
