"""Amount and date parsing shared by the row and bulk engines (identical results)."""

from __future__ import annotations

import re
from collections.abc import Sequence
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
    "with_amounts",
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
# More than two decimals other than trailing zeros.
_DECIMALS_RE = r"\.[0-9]{2}[0-9]*[1-9]"
# _NUMBER_RE without _DECIMALS_RE: the amounts parse_amount turns into fen (if not too large).
_AMOUNT_RE = r"^[+-]?(?:[0-9]+(?:\.[0-9]{0,2}0*)?|\.[0-9]{1,2}0*)$"
_PLAIN_MATCH = re.compile(r"(-?)([0-9]{1,12})\.([0-9]{2})").fullmatch
# Both paths strip exactly these characters around values.
SPACES = " \t\r\n\u3000\ufeff"
# _DATE_RE without year 0 (polars reads it, Python's date does not); with SPACES around.
_DATE_NO_YEAR_0 = r"(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-[0-9]{2}-[0-9]{2}"
_DATE_NO_YEAR_0_RE = f"^{_DATE_NO_YEAR_0}$"
_SPACED_DATE_RE = f"^[{SPACES}]*{_DATE_NO_YEAR_0}[{SPACES}]*$"


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


def iso_date_expr(col: pl.Expr, *, trimmed: bool = False) -> pl.Expr:
    """Vectorised parse_iso_date (each part written once: cheap in eager contexts too).

    `trimmed`: the text has no SPACES around it already (records_frame's columns).
    """
    if trimmed:
        return pl.when(col.str.contains(_DATE_NO_YEAR_0_RE)).then(
            col.str.to_date("%Y-%m-%d", strict=False, cache=False)
        )
    ok = col.str.contains(_SPACED_DATE_RE)
    return pl.when(ok).then(
        col.str.strip_chars(SPACES).str.to_date("%Y-%m-%d", strict=False, cache=False)
    )


def with_amount(frame: pl.LazyFrame, source: str, *, out: str, err: str) -> pl.LazyFrame:
    """Vectorised parse_amount of string column `source` into Int64 `out` and `err`.

    One regular expression accepts exactly the amounts the row path accepts (at most two
    decimals other than trailing zeros); only that text is converted, through
    Decimal(38, 2), which is exact for it. Why a value is refused is worked out on the
    refused values alone (`_refusals`).
    """
    return with_amounts(frame, [(source, out, err)])


def with_amounts(frame: pl.LazyFrame, specs: Sequence[tuple[str, str, str]]) -> pl.LazyFrame:
    """`with_amount` of several (source, out, err) columns at once: each step of every
    column in the same `with_columns`, so polars works on the columns in parallel."""
    names = [(f"__{out}_t", f"__{out}_raw", f"__{out}_refused") for _, out, _ in specs]
    frame = frame.with_columns(
        pl.col(source).str.strip_chars(SPACES).alias(tmp)
        for (source, _, _), (tmp, _, _) in zip(specs, names, strict=True)
    )
    step2, step3 = [], []
    for (_, out, err), (tmp, fen_tmp, refused) in zip(specs, names, strict=True):
        text = pl.col(tmp)
        valid = text.str.contains(_AMOUNT_RE)
        # A Decimal(38, 2)'s physical value is the amount in fen; no arithmetic, no overflow.
        fen = text.cast(pl.Decimal(38, 2), strict=False).to_physical().cast(pl.Int64, strict=False)
        step2 += [
            pl.when(valid).then(fen).alias(fen_tmp),
            pl.when(valid).then(pl.lit(None, dtype=pl.String)).otherwise(text).alias(refused),
        ]
        raw = pl.col(fen_tmp)
        good = raw.is_not_null() & (raw.abs() < AMOUNT_LIMIT_FEN)
        error = (
            pl.when(good)
            .then(pl.lit(None, dtype=pl.String))
            .when(text.is_null())
            .then(pl.lit("empty"))
            .when(pl.col(refused).is_null())  # a number, but too many digits
            .then(pl.lit("too_large"))
            .otherwise(pl.col(refused).map_batches(_refusals, return_dtype=pl.String))
        )
        step3 += [pl.when(good).then(raw).alias(out), error.alias(err)]
    frame = frame.with_columns(step2).with_columns(step3)
    return frame.drop(*[n for triple in names for n in triple])


def _refusals(refused: pl.Series) -> pl.Series:
    """parse_amount's error code of each (trimmed) text that is not an amount; null stays
    null. Only those few rows are looked at."""
    where = refused.is_not_null().arg_true()
    out = pl.Series(refused.name, [None] * len(refused), dtype=pl.String)
    if len(where) == 0:
        return out
    text = refused.gather(where)
    codes = pl.select(
        pl.when(pl.lit(text) == "")
        .then(pl.lit("empty"))
        .when(~pl.lit(text).str.contains(_NUMBER_RE))
        .then(pl.lit("not_a_number"))
        .when(pl.lit(text).str.contains(_DECIMALS_RE))
        .then(pl.lit("too_many_decimals"))
        .otherwise(pl.lit("too_large"))
    ).to_series()
    return out.scatter(where, codes)
