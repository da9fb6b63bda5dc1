"""Exact numbers: money and points are integers, or fractions when a file writes decimals."""

from __future__ import annotations

import re
from fractions import Fraction

Number = int | Fraction

_INT = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(\d+[.,]\d*|[.,]\d+)")
_DIGITS = re.compile(r"(\d+)")


def parse_number(text: str) -> Number:
    """Parse `12`, `-3`, `12.50` or `12,50` exactly; raise ValueError otherwise."""
    text = text.strip()
    if _INT.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text):
        return normalize(Fraction(text.replace(",", ".")))
    raise ValueError(f"not a number: {text!r}")


def normalize(value: Number) -> Number:
    """An integral fraction becomes an int, so equal values compare and print alike."""
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    return value


def format_number(value: Number) -> str:
    """The exact decimal text of a value (`1500`, `12.5`); raises for fractions with no finite decimal."""
    value = normalize(value)
    if isinstance(value, int):
        return str(value)
    den = value.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        raise ValueError(f"{value} has no finite decimal representation")
    digits = max(twos, fives)
    scaled = value * 10**digits
    sign = "-" if scaled < 0 else ""
    whole = str(abs(scaled.numerator))
    whole = whole.rjust(digits + 1, "0")
    text = f"{whole[:-digits]}.{whole[-digits:]}".rstrip("0").rstrip(".")
    return sign + text


def natural_key(project_id: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key for ids: digit runs compare as numbers, so `9` < `10` and `c9` < `c10`."""
    parts = _DIGITS.split(project_id)
    key: list[tuple[int, int, str]] = []
    for i, part in enumerate(parts):
        if not part:
            continue
        if i % 2:
            key.append((0, int(part), part))
        else:
            key.append((1, 0, part))
    return tuple(key)
