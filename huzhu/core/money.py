"""Money helpers: amounts are integer fen (分) everywhere inside Huzhu.

`yuan_to_fen` is the only door from the outside world (files, forms, YAML) into fen;
`fen_to_yuan` writes fen for files, `format_fen` for people.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation, localcontext

__all__ = ["MoneyError", "yuan_to_fen", "fen_to_yuan", "format_fen"]

# Optional sign, digits with an optional fraction (or a bare fraction like ".5").
_YUAN_RE = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")  # ASCII digits only


class MoneyError(ValueError):
    """An amount that cannot become an exact number of fen.

    `code` is stable (tests and import reports use it); `message` is for people.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _decimal_to_fen(d: Decimal, shown: str) -> int:
    if not d.is_finite():
        raise MoneyError("not_finite", f"金额“{shown}”不是有效数字")
    with localcontext() as ctx:  # enough digits that "* 100" is exact for any input
        ctx.prec = max(28, len(d.as_tuple().digits) + 3)
        fen = d * 100
        whole = fen.to_integral_value()
    if fen != whole:
        raise MoneyError("too_many_decimals", f"金额“{shown}”超过两位小数")
    return int(fen)


def yuan_to_fen(value: str | int | Decimal | float) -> int:
    """Convert an amount in yuan to integer fen, exactly, or raise MoneyError.

    Accepts str ("1234.56", " -0.50 ", "12.300"), int (whole yuan), Decimal, and float
    (only through `Decimal(str(x))`, so 0.1 stays 0.1). More than two decimals is refused
    unless the extra digits are zeros. Negative amounts are allowed (reversals carry them);
    callers that need a non-negative amount check the sign themselves.
    """
    if isinstance(value, bool):
        raise MoneyError("bad_type", "金额不能是布尔值")
    if isinstance(value, int):
        return value * 100
    if isinstance(value, Decimal):
        return _decimal_to_fen(value, str(value))
    if isinstance(value, float):
        shown = str(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise MoneyError("not_finite", f"金额“{shown}”不是有效数字")
        return _decimal_to_fen(Decimal(shown), shown)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise MoneyError("empty", "金额为空")
        if not _YUAN_RE.match(text):
            raise MoneyError("not_a_number", f"金额“{text}”不是有效数字")
        try:
            d = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the regex already refused it
            raise MoneyError("not_a_number", f"金额“{text}”不是有效数字") from None
        return _decimal_to_fen(d, text)
    raise MoneyError("bad_type", f"无法识别的金额类型：{type(value).__name__}")


def _check_fen(fen: int) -> None:
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"fen must be an int, got {type(fen).__name__}")


def fen_to_yuan(fen: int) -> str:
    """Fen as a plain yuan string for files: 123456 -> "1234.56", -5 -> "-0.05"."""
    _check_fen(fen)
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def format_fen(fen: int) -> str:
    """Fen as yuan for people, with thousands separators: 123456 -> "1,234.56"."""
    _check_fen(fen)
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"
