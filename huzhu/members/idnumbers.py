"""Resident ID numbers (居民身份证号, GB 11643-1999): normalise, validate, read.

We check the format, the real birth date and the check digit. We deliberately do not
use python-stdnum's `cn.ric.validate`: it also refuses people born before their
county's region code existed (330683 嵊州市 dates from 1995), i.e. most of our members.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from operator import mul

import polars as pl

__all__ = [
    "IdNumberError",
    "ID_ERROR_MESSAGES",
    "normalize_id_number",
    "id_birth_date",
    "id_sex",
    "check_digit",
    "with_id_number_check",
]

_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK_CHARS = "10X98765432"

# Stable code -> message for people. Messages do not interpolate the value, so the row
# path and the vectorised path give identical text.
ID_ERROR_MESSAGES: dict[str, str] = {
    "empty": "身份证号为空",
    "excel_mangled": (
        "身份证号已被Excel转换成数字（如3.30683E+17），后几位已丢失，无法还原；"
        "请把该列设为文本格式后重新填写"
    ),
    "bad_length": "身份证号应为18位",
    "bad_characters": "身份证号前17位应为数字，最后一位应为数字或X",
    "bad_birth_date": "身份证号中的出生日期不存在",
    "bad_check_digit": "身份证号校验位错误",
}

# Excel turns long digit strings into floats: "3.30683E+17", "3.306831970070701e+17",
# "330683197007070000.0"; such text has lost digits for good.
_MANGLED_RE = re.compile(r"^[0-9]+(\.[0-9]*)?[eE][+-]?[0-9]+$|^[0-9]+\.[0-9]*$")
_SHAPE_RE = re.compile(r"^[0-9]{17}[0-9X]$")
# Full-width characters people type in Chinese input methods, and the spaces we drop.
_FULLWIDTH = {chr(0xFF10 + i): str(i) for i in range(10)}
_FULLWIDTH.update({"Ｘ": "X", "ｘ": "X", "．": ".", "＋": "+", "Ｅ": "E", "ｅ": "E"})
_FULLWIDTH_TABLE = str.maketrans(_FULLWIDTH)
_SPACE_CLASS = "[\t\n\v\f\r \u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]+"
_SPACE_RE = re.compile(_SPACE_CLASS)


class IdNumberError(ValueError):
    """An ID number that cannot be accepted; `code` is stable, `message` is Chinese."""

    def __init__(self, code: str, message: str | None = None) -> None:
        self.code = code
        self.message = message or ID_ERROR_MESSAGES[code]
        super().__init__(self.message)


def check_digit(first17: str) -> str:
    """GB 11643 check character for the first 17 digits."""
    if len(first17) != 17:
        raise ValueError("need exactly 17 digits")
    total = sum(map(mul, map(int, first17), _WEIGHTS))
    return _CHECK_CHARS[total % 11]


def _clean(raw: str) -> str:
    # Same steps, in the same order, as the vectorised path below.
    return _SPACE_RE.sub("", raw.translate(_FULLWIDTH_TABLE)).upper()


def normalize_id_number(raw: object) -> str:
    """Return the canonical 18-character ID number or raise IdNumberError.

    Full-width characters and spaces are normalised, a trailing x becomes X. A float
    (or float-looking text) is refused as mangled by Excel: its digits are lost.
    """
    if isinstance(raw, float):
        raise IdNumberError("excel_mangled")
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        raise IdNumberError("empty" if raw is None else "bad_characters")
    number, code = _normalize_text(raw)
    if code is not None:
        raise IdNumberError(code)
    return number


@lru_cache(maxsize=1 << 18)  # files repeat the same members; checking is pure
def _normalize_text(raw: str) -> tuple[str, str | None]:
    try:
        return _normalize_uncached(raw), None
    except IdNumberError as e:
        return "", e.code


def _normalize_uncached(raw: str) -> str:
    text = _clean(raw)
    if not text:
        raise IdNumberError("empty")
    if _MANGLED_RE.match(text):
        raise IdNumberError("excel_mangled")
    if len(text) != 18:
        raise IdNumberError("bad_length")
    if not _SHAPE_RE.match(text):
        raise IdNumberError("bad_characters")
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise IdNumberError("bad_birth_date") from None
    if born.year < 1900:
        raise IdNumberError("bad_birth_date")
    if check_digit(text[:17]) != text[17]:
        raise IdNumberError("bad_check_digit")
    return text


def id_birth_date(id_number: str) -> date:
    """Birth date of a valid (normalised) ID number."""
    number = normalize_id_number(id_number)
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def id_sex(id_number: str) -> str:
    """ "male" or "female": the 17th digit is odd for men."""
    number = normalize_id_number(id_number)
    return "male" if int(number[16]) % 2 == 1 else "female"


# --- vectorised (polars) ------------------------------------------------------------


def with_id_number_check(
    frame: pl.LazyFrame, source: str, *, out: str, code: str, key: str | None = None
) -> pl.LazyFrame:
    """Vectorised `normalize_id_number` over the string column `source`.

    Adds `out` (the normalised number) and `code` (null where valid, else one of
    ID_ERROR_MESSAGES' keys); with `key`, also an Int64 column that is equal for equal
    valid numbers and null for invalid ones (the first 17 digits × 11 + the check
    character's value, X being 10): bulk code joins, sorts and groups on it. Same result
    as the row function for every string (the full-width table here covers digits, X,
    '.', '+', 'E'; other full-width text fails the shape check in both paths).

    Most numbers are already in canonical form (17 digits and a digit or X): for them
    only the birth date and the check digit are computed, in integer arithmetic. The
    normalising steps run on the other values alone (the canonical rows are null there).
    """
    canon, other, n17, b13, last = (
        f"__{out}_{k}" for k in ("canon", "other", "n17", "b13", "last")
    )

    def numbers(text: pl.Expr) -> list[pl.Expr]:
        """The first 17 characters as a number, the same read in base 13 (as 13 = 2
        mod 11, that is half the GB 11643 weighted sum, weights 2^(17 - i), mod 11), and
        the last character's value (0-9, null otherwise)."""
        first17 = text.str.slice(0, 17)
        return [
            first17.cast(pl.Int64, strict=False),
            first17.str.to_integer(base=13, strict=False),
            text.str.slice(17, 1).cast(pl.Int64, strict=False),
        ]

    raw = pl.col(source).fill_null("")
    frame = frame.with_columns(
        e.alias(name) for e, name in zip(numbers(raw), (n17, b13, last), strict=True)
    )
    # Canonical: 18 bytes, 17 digits (a string-to-integer cast reads [+-]?[0-9]+ only)
    # and a digit or X.
    is_canon = (
        (raw.str.len_bytes() == 18)
        & pl.col(n17).is_not_null()
        & ~raw.str.starts_with("+")
        & ~raw.str.starts_with("-")
        & (pl.col(last).is_not_null() | raw.str.ends_with("X"))
    )
    frame = frame.with_columns(
        is_canon.alias(canon),
        pl.when(is_canon)
        .then(pl.lit(None, dtype=pl.String))
        .otherwise(raw)
        .str.replace_many(list(_FULLWIDTH), list(_FULLWIDTH.values()))
        .str.replace_all(_SPACE_CLASS, "")
        .str.to_uppercase()
        .alias(other),
    )
    rest = pl.col(other)
    # The other values, normalised (no text at all for the canonical ones: nearly free).
    frame = frame.with_columns(
        pl.coalesce(rest, raw).alias(out),
        *[
            pl.when(pl.col(canon)).then(pl.col(name)).otherwise(e).alias(name)
            for e, name in zip(numbers(rest), (n17, b13, last), strict=True)
        ],
    )
    frame = frame.with_columns(pl.col(last).fill_null(10))  # X (other characters fail first)
    n = pl.col(n17)
    year, month, day = (n // 10**7) % 10**4, (n // 10**5) % 100, (n // 10**3) % 100
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    days_in_month = (
        pl.when(month == 2)
        .then(pl.when(leap).then(29).otherwise(28))
        .when(month.is_in([4, 6, 9, 11]))
        .then(30)
        .otherwise(31)
    )
    born_ok = (year >= 1900) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= days_in_month)
    total = (pl.col(b13) % 11) * 2 % 11  # the weighted sum modulo 11 (see numbers())
    # _CHECK_CHARS[total] as a value ("10X98765432": 1, 0, 10, 9, ...).
    expected = (12 - total) % 11
    not_canon = ~pl.col(canon)
    frame = frame.with_columns(
        pl.when(not_canon & (rest == ""))
        .then(pl.lit("empty"))
        .when(not_canon & rest.str.contains(_MANGLED_RE.pattern))
        .then(pl.lit("excel_mangled"))
        .when(not_canon & (rest.str.len_chars() != 18))
        .then(pl.lit("bad_length"))
        .when(not_canon & ~rest.str.contains(_SHAPE_RE.pattern))
        .then(pl.lit("bad_characters"))
        .when(~born_ok)
        .then(pl.lit("bad_birth_date"))
        .when(expected != pl.col(last))
        .then(pl.lit("bad_check_digit"))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias(code)
    )
    if key is not None:
        frame = frame.with_columns(
            pl.when(pl.col(code).is_null()).then(n * 11 + pl.col(last)).alias(key)
        )
    return frame.drop(canon, other, n17, b13, last)
