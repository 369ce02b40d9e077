"""The answers' JSON (`api/json_answers.py`): orjson writes what Flask's own provider wrote,
for every value an answer holds, and hands what it does not take to that provider."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from hypothesis import given, settings
from hypothesis import strategies as st

from licensing.api.json_answers import OrjsonProvider

FAST = settings(database=None, deadline=None, max_examples=300)

# What answers hold: text (any code point but lone surrogates), 64-bit integers, finite
# floats, booleans, null, lists and objects of them.
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=15,
)


def both(value: object) -> tuple[bytes, bytes]:
    app = Flask(__name__)
    ours, flasks = OrjsonProvider(app), DefaultJSONProvider(app)
    with app.app_context():
        return ours.response(value).get_data(), flasks.response(value).get_data()


@FAST
@given(values)
def test_an_answer_reads_the_same_as_flasks_own(value: object) -> None:
    ours, flasks = both(value)
    assert json.loads(ours) == json.loads(flasks)
    assert ours.endswith(b"\n")
    if isinstance(value, dict):  # keys in the same (sorted) order
        assert list(json.loads(ours)) == list(json.loads(flasks))


def test_what_json_has_no_type_for_goes_through_flasks_conversions() -> None:
    value = {
        "day": date(2026, 11, 29),
        "at": datetime(2026, 11, 29, 12, tzinfo=UTC),
        "amount": Decimal("12.50"),
        "id": UUID("12345678-1234-5678-1234-567812345678"),
    }
    ours, flasks = both(value)
    assert json.loads(ours) == json.loads(flasks)
    assert json.loads(ours)["day"] == "Sun, 29 Nov 2026 00:00:00 GMT"


def test_an_integer_beyond_64_bits_is_written_by_flasks_provider() -> None:
    ours, flasks = both({"n": 2**70})
    assert ours == flasks
    assert json.loads(ours) == {"n": 2**70}
