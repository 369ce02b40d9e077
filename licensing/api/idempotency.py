"""The `Idempotency-Key` header on creating POSTs (contract: Conventions)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from copy import deepcopy
from typing import Any

from flask import Response, make_response, request
from flask_smorest.utils import deepupdate

from licensing.api.auth import current_principal
from licensing.clock import utcnow
from licensing.domain.errors import Invalid
from licensing.extensions import db
from licensing.services import idempotency

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, no spaces
_DOC = {
    "parameters": [
        {
            "in": "header",
            "name": HEADER,
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            "description": "Retrying with the same key and body returns the first answer.",
        }
    ]
}


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Replay the first answer for a repeated key; 409 IDEMPOTENCY_KEY_REUSED for another body."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not _KEY.fullmatch(key):
            raise Invalid.field(HEADER, "1 to 255 printable ASCII characters without spaces")
        owner = current_principal().key_id
        request_hash = idempotency.fingerprint(request.method, request.path, request.get_data())
        stored = idempotency.claim(
            api_key_id=owner, key=key, request_hash=request_hash, now=utcnow()
        )
        if stored is not None:
            replay = Response(stored.body, status=stored.status, mimetype="application/json")
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        try:
            response = make_response(view(*args, **kwargs))
        except Exception:
            db.session.rollback()  # the claim goes with the failed attempt: a retry may run
            raise
        idempotency.record(
            api_key_id=owner, key=key, status=response.status_code, body=response.get_data(True)
        )
        return response

    apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
    apidoc["manual_doc"] = deepupdate(deepcopy(apidoc.get("manual_doc", {})), _DOC)
    wrapper._apidoc = apidoc  # type: ignore[attr-defined]
    return wrapper
