"""The contract does not move by accident: `/v1/openapi.json` equals its committed snapshot.

A change to paths, schemas or codes fails here until the snapshot is updated on purpose:

    make openapi-snapshot     (rewrites tests/snapshots/openapi.json; review the diff)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from licensing import create_app
from tests.conftest import settings_for

SNAPSHOT = Path(__file__).resolve().parents[1] / "snapshots" / "openapi.json"


def current_document() -> dict[str, Any]:
    app = create_app(settings_for("sqlite://"))
    return app.test_client().get("/v1/openapi.json").get_json()


def _differences(old: Any, new: Any, where: str = "") -> list[str]:
    """Where two documents differ, as JSON-pointer-like paths (at most a screenful)."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for name in sorted(old.keys() | new.keys()):
            here = f"{where}/{name}"
            if name not in new:
                found.append(f"removed {here}")
            elif name not in old:
                found.append(f"added {here}")
            else:
                found += _differences(old[name], new[name], here)
        return found
    if old != new:
        return [f"changed {where or '/'}"]
    return []


def test_the_openapi_document_matches_its_committed_snapshot() -> None:
    document = current_document()
    if os.environ.get("UPDATE_OPENAPI_SNAPSHOT") == "1":
        SNAPSHOT.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    committed = json.loads(SNAPSHOT.read_text())
    differences = _differences(committed, document)
    assert not differences, (
        "the OpenAPI document moved; if on purpose, run `make openapi-snapshot`:\n"
        + "\n".join(differences[:40])
    )
