"""D1: money is integer minor units; percentages are exact Decimals rounded half-up once."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licensing.domain.money import CURRENCY, Money, format_decimal, percent_of

FAST = settings(database=None, deadline=None)

amounts = st.one_of(st.integers(0, 10_000_000), st.integers(0, 10**40))
percents = st.one_of(
    st.integers(0, 300),
    st.decimals(min_value=0, max_value=300, places=4, allow_nan=False, allow_infinity=False),
)


def half_up_reference(amount: int, percent: int | Decimal) -> int:
    """An independent exact reference: floor(x + 1/2) of the exact rational x."""
    exact = Fraction(amount) * Fraction(percent) / 100
    return math.floor(exact + Fraction(1, 2))


@FAST
@given(amount=amounts, percent=percents)
def test_d1_percent_of_matches_exact_half_up_reference(amount: int, percent: int | Decimal) -> None:
    assert percent_of(amount, percent) == half_up_reference(amount, percent)


@pytest.mark.parametrize(
    ("amount", "percent", "expected"),
    [
        (30000, 20, 6000),
        (30000, 30, 9000),
        (12345, 20, 2469),
        (12345, 30, 3704),  # 3703.5 rounds half up
        (1, 50, 1),  # 0.5 rounds half up
        (1, 49, 0),
        (0, 20, 0),
        (12345, Decimal("12.5"), 1543),  # 1543.125
    ],
)
def test_d1_percent_of_examples(amount: int, percent: int | Decimal, expected: int) -> None:
    assert percent_of(amount, percent) == expected


@pytest.mark.parametrize(
    ("amount", "percent"),
    [(-1, 20), (10.0, 20), (True, 20), (100, 20.0), (100, -1), (100, Decimal("NaN")), (100, True)],
)
def test_d1_percent_of_rejects_negatives_floats_and_bools(amount: object, percent: object) -> None:
    with pytest.raises(ValueError):
        percent_of(amount, percent)  # type: ignore[arg-type]


def test_d1_money_defaults_to_usd_minor_units() -> None:
    assert Money(30000) == Money(30000, "USD")
    assert Money(30000).currency == CURRENCY == "USD"


@pytest.mark.parametrize("amount", [1.5, 300.0, -1, True, False, Decimal(1), "100", None])
def test_d1_money_rejects_non_integer_or_negative_amounts(amount: object) -> None:
    with pytest.raises(ValueError):
        Money(amount)  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["usd", "US", "USDX", "", "U$D", "ÜSD", 840, None])
def test_d1_money_rejects_a_currency_that_is_not_an_iso_code(currency: object) -> None:
    with pytest.raises(ValueError):
        Money(100, currency)  # type: ignore[arg-type]


def test_d1_money_is_immutable() -> None:
    price = Money(30000)
    with pytest.raises(AttributeError):
        price.amount = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("amount", "text"),
    [(12000, "120.00"), (5, "0.05"), (0, "0.00"), (99, "0.99"), (100, "1.00"), (-250, "-2.50")],
)
def test_d1_format_decimal_shows_two_places(amount: int, text: str) -> None:
    assert format_decimal(amount) == text


@FAST
@given(st.integers(-(10**15), 10**15))
def test_d1_format_decimal_round_trips_through_decimal(amount: int) -> None:
    assert Decimal(format_decimal(amount)) * 100 == amount


@pytest.mark.parametrize("amount", [1.0, True, "5"])
def test_d1_format_decimal_rejects_non_integers(amount: object) -> None:
    with pytest.raises(ValueError):
        format_decimal(amount)  # type: ignore[arg-type]
