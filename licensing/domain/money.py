"""D1: money as an integer count of minor units plus an ISO 4217 currency code."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, Inexact, localcontext

CURRENCY = "USD"
# Stripe charges at least $0.50 (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts).
STRIPE_MINIMUM_CHARGE = 50
# A list price from which the smallest payment it leads to, a 20% renewal (R18), can still be
# charged: $2.50. A lower price would make every such payment a 402.
MINIMUM_LIST_PRICE = STRIPE_MINIMUM_CHARGE * 5
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")


def _require_minor_units(amount: object, *, what: str = "amount") -> int:
    """D1: an amount is a non-negative int (never a float, never a bool)."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValueError(f"{what} must be an integer count of minor units, got {amount!r}")
    if amount < 0:
        raise ValueError(f"{what} must not be negative, got {amount}")
    return amount


@dataclass(frozen=True)
class Money:
    """D1: `Money(30000, "USD")` is $300.00."""

    amount: int
    currency: str = CURRENCY

    def __post_init__(self) -> None:
        _require_minor_units(self.amount)
        if not isinstance(self.currency, str) or not _CURRENCY_CODE.fullmatch(self.currency):
            raise ValueError(
                f"currency must be a three-letter upper-case ISO 4217 code, got {self.currency!r}"
            )


def _require_percent(percent: object) -> Decimal:
    """D1: a percentage is an int or a finite Decimal, never a float; it is not negative."""
    if isinstance(percent, bool) or not isinstance(percent, int | Decimal):
        raise ValueError(f"percent must be an int or a Decimal, got {percent!r}")
    value = Decimal(percent)
    if not value.is_finite() or value < 0:
        raise ValueError(f"percent must be a finite, non-negative number, got {percent!r}")
    return value


def percent_of(amount: int, percent: int | Decimal) -> int:
    """D1: `percent`% of `amount` minor units, computed exactly and rounded half-up once."""
    units = Decimal(_require_minor_units(amount))
    rate = _require_percent(percent)
    with localcontext() as context:
        # Enough digits for the exact product; Inexact turns any hidden rounding into an error.
        context.prec = len(units.as_tuple().digits) + len(rate.as_tuple().digits) + 3
        context.traps[Inexact] = True
        exact = (units * rate).scaleb(-2)
        context.traps[Inexact] = False  # the one rounding D1 allows
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_decimal(amount: int) -> str:
    """D1: minor units as a decimal string with two places (12000 -> "120.00")."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValueError(f"amount must be an integer count of minor units, got {amount!r}")
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(amount), 100)
    return f"{sign}{major}.{minor:02d}"
