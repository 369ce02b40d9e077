"""The strict JSON decoder (`licensing/api/json_body.py`): its shortcut for a body with no
unreadable value answers exactly as the full check of every value does."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import BadRequest

from licensing.api import json_body
from licensing.domain.errors import Invalid

FAST = settings(database=None, deadline=None, max_examples=400)

# Values with every kind of trouble: lone surrogates and NULs in text and names, NaN and
# the infinities, numbers of any length and exponent.
texts = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()), max_size=12
) | st.sampled_from(["\ud800", "a\udfffb", "\x00", "x\x00", "1e5", "NaN", "Infinity"])
numbers = (
    st.integers()
    | st.integers(-(10**60), 10**60)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([1e308, 1.5e-320, 10**41, -(10**40)])
)
values = st.recursive(
    st.none() | st.booleans() | numbers | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
literals = st.sampled_from(
    ["1e400", "-1E+999", "1" * 41, "0." + "0" * 40 + "1", "12345678901234567890"]
)


def body_of(value: object, ascii_only: bool) -> bytes:
    """`value` as a client would send it; text that UTF-8 cannot carry always escaped."""
    text = json.dumps(value, ensure_ascii=ascii_only, allow_nan=True)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, allow_nan=True).encode("utf-8")


def answer(decode, data: bytes) -> object:  # type: ignore[no-untyped-def]
    try:
        value = decode(data)
    except Invalid as error:
        return ("422", error.errors)
    except BadRequest:
        return "400"
    return ("value", json.dumps(value, default=repr, allow_nan=True, sort_keys=True))


def full_check(data: bytes) -> object:
    """The decoder with its shortcut turned off: every value walked."""
    original = json_body._MAY_BE_UNREADABLE
    json_body._MAY_BE_UNREADABLE = _ALWAYS
    try:
        return json_body.decode(data)
    finally:
        json_body._MAY_BE_UNREADABLE = original


class _Always:
    def search(self, data: bytes) -> bool:
        return True


_ALWAYS = _Always()


@FAST
@given(values, st.booleans())
def test_the_shortcut_answers_as_the_full_check(value: object, ascii_only: bool) -> None:
    data = body_of(value, ascii_only)
    assert answer(json_body.decode, data) == answer(full_check, data)


@FAST
@given(st.lists(literals | st.integers().map(str), min_size=1, max_size=3))
def test_numbers_out_of_range_are_found_by_the_shortcut_too(numbers: list[str]) -> None:
    data = ("[" + ", ".join(numbers) + "]").encode()
    assert answer(json_body.decode, data) == answer(full_check, data)


@pytest.mark.parametrize(
    "data",
    [b'{"a": 1e400}', b'{"a": "\\u0000"}', b'{"\\ud800": 1}', b"[NaN]", b"[" + b"9" * 41 + b"]"],
)
def test_each_kind_of_unreadable_value_is_refused(data: bytes) -> None:
    with pytest.raises(Invalid):
        json_body.decode(data)


def test_a_byte_order_mark_is_not_json() -> None:
    with pytest.raises(BadRequest):
        json_body.decode("\ufeff{}".encode())
