"""Amount and date parsing shared by the row and bulk engines (identical results)."""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

import polars as pl

from huzhu.core.money import MoneyError, yuan_to_fen

__all__ = [
    "AMOUNT_LIMIT_FEN",
    "AMOUNT_ERROR_MESSAGES",
    "parse_amount",
    "parse_iso_date",
    "with_amount",
    "iso_date_expr",
]

# |amount| must stay below 10^12 yuan: keeps every sum inside int64 in the bulk path.
AMOUNT_LIMIT_FEN = 10**14

AMOUNT_ERROR_MESSAGES = {
    "empty": "为空",
    "not_a_number": "不是有效金额",
    "too_many_decimals": "超过两位小数",
    "too_large": "金额过大",
    "negative": "不能为负数",
}

_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_NUMBER_RE = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$"
_NUMBER_MATCH = re.compile(_NUMBER_RE).match
_PLAIN_MATCH = re.compile(r"(-?)([0-9]{1,12})\.([0-9]{2})").fullmatch
# Both paths strip exactly these characters around values.
SPACES = " \t\r\n\u3000\ufeff"


def parse_amount(text: str | None) -> tuple[int | None, str | None]:
    """Raw amount text -> (fen, None) or (None, error code)."""
    if text is None:
        return None, "empty"
    whole, _, cents = text.partition(".")
    if len(cents) == 2 and len(whole) <= 12 and text.isascii() and (whole + cents).isdigit():
        return int(whole + cents), None  # the common "1234.56": 1 to 12 digits, a dot, 2 digits
    text = text.strip(SPACES)
    if not text:
        return None, "empty"
    plain = _PLAIN_MATCH(text)
    if plain:  # "-1234.56" (a refund): no Decimal needed either
        fen = int(plain[2]) * 100 + int(plain[3])
        return (-fen if plain[1] else fen), None
    if not _NUMBER_MATCH(text):
        return None, "not_a_number"
    try:
        fen = yuan_to_fen(text)
    except MoneyError as e:
        return None, e.code
    if abs(fen) >= AMOUNT_LIMIT_FEN:
        return None, "too_large"
    return fen, None


@lru_cache(maxsize=65536)
def parse_iso_date(text: str | None) -> date | None:
    """A `YYYY-MM-DD` date, or None for anything else (other forms are refused)."""
    if not text:
        return None
    text = text.strip(SPACES)
    if not _DATE_RE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def iso_date_expr(col: pl.Expr) -> pl.Expr:
    """Vectorised parse_iso_date."""
    text = col.str.strip_chars(SPACES)
    return (
        pl.when(text.str.contains(_DATE_RE.pattern))
        .then(text.str.to_date("%Y-%m-%d", strict=False))
        .otherwise(pl.lit(None, dtype=pl.Date))
    )


def with_amount(frame: pl.LazyFrame, source: str, *, out: str, err: str) -> pl.LazyFrame:
    """Vectorised parse_amount of string column `source` into Int64 `out` and `err`.

    The text is checked by the same regular expressions as the row path; only text that
    passed them (at most two non-zero decimals) is converted, through Decimal(38, 2),
    which is exact for it.
    """
    tmp = f"__{out}_t"
    frame = frame.with_columns(pl.col(source).fill_null("").str.strip_chars(SPACES).alias(tmp))
    text = pl.col(tmp)
    # A Decimal(38, 2)'s physical value is the amount in fen; no arithmetic, no overflow.
    fen = text.cast(pl.Decimal(38, 2), strict=False).to_physical().cast(pl.Int64, strict=False)
    error = (
        pl.when(text == "")
        .then(pl.lit("empty"))
        .when(~text.str.contains(_NUMBER_RE))
        .then(pl.lit("not_a_number"))
        .when(text.str.contains(r"\.[0-9]{2}[0-9]*[1-9]"))
        .then(pl.lit("too_many_decimals"))
        .when(fen.is_null() | (fen.abs() >= AMOUNT_LIMIT_FEN))
        .then(pl.lit("too_large"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    frame = frame.with_columns(fen.alias(out), error.alias(err))
    return frame.with_columns(pl.when(pl.col(err).is_null()).then(pl.col(out)).alias(out)).drop(tmp)
