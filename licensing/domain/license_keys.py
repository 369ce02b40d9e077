"""D6: random, human-typable license keys in grouped Crockford base32 with a check symbol."""

from __future__ import annotations

import secrets
from collections.abc import Callable

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
PAYLOAD_SYMBOLS = 24  # 24 symbols x 5 bits = 120 random bits
KEY_SYMBOLS = PAYLOAD_SYMBOLS + 1  # plus one Luhn mod 32 check symbol
GROUP_SYMBOLS = 5

_BASE = len(ALPHABET)
_VALUE_OF = {symbol: value for value, symbol in enumerate(ALPHABET)}
_SYMBOLS = frozenset(ALPHABET)
# Crockford decoding: symbols easily mistyped for a digit read as that digit.
_TYPO_TO_SYMBOL = str.maketrans({"I": "1", "L": "1", "O": "0"})


def _luhn_sum(symbols: str, *, double_last: bool) -> int:
    """Luhn mod N: from the right, every other value is doubled and its base-N digits summed."""
    total = 0
    double = double_last
    for symbol in reversed(symbols):
        addend = _VALUE_OF[symbol] * (2 if double else 1)
        total += addend // _BASE + addend % _BASE
        double = not double
    return total


def check_symbol(payload: str) -> str:
    """D6: the Luhn mod 32 check symbol that makes `payload + symbol` validate."""
    return ALPHABET[-_luhn_sum(payload, double_last=True) % _BASE]


def _is_valid(symbols: str) -> bool:
    """D6: the last symbol is the Luhn mod 32 check symbol of the others."""
    return _luhn_sum(symbols, double_last=False) % _BASE == 0


def _grouped(symbols: str) -> str:
    groups = (symbols[i : i + GROUP_SYMBOLS] for i in range(0, len(symbols), GROUP_SYMBOLS))
    return "-".join(groups)


def generate_license_key(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    """D6: 120 random bits as 24 Crockford symbols plus a check symbol, in groups of five."""
    payload = "".join(ALPHABET[randbelow(_BASE)] for _ in range(PAYLOAD_SYMBOLS))
    return _grouped(payload + check_symbol(payload))


def canonical_license_key(raw: object) -> str | None:
    """D6: the grouped form of a key as a user may type it, or None if it is not a valid key.

    Case, spaces and hyphens are ignored and I/L/O read as 1/1/0; never raises.
    """
    if not isinstance(raw, str):
        return None
    typed = "".join(raw.replace("-", "").split())  # split(): at any run of whitespace
    if not typed.isascii() or len(typed) != KEY_SYMBOLS:
        return None
    symbols = typed.upper().translate(_TYPO_TO_SYMBOL)
    if not _SYMBOLS.issuperset(symbols) or not _is_valid(symbols):
        return None
    return _grouped(symbols)
