"""Normalising and checking a member's personal fields as people type them.

Shared by the enrollment import (row by row, so every function here is cheap) and by the
staff correction form. Each raises `FieldError` with a stable `code` and a Chinese message.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta

__all__ = [
    "FieldError",
    "strip_text_marks",
    "normalize_name",
    "normalize_phone",
    "normalize_bank_name",
    "normalize_bank_account",
    "parse_date_cell",
]

NAME_MAX = 64
_SPACES_RE = re.compile(r"[\s\u3000\ufeff\u200b]+")
_DOTS = str.maketrans({"•": "·", "‧": "·", "・": "·", "∙": "·", "．": "·"})
_HAS_LATIN_RE = re.compile(r"[A-Za-z]")
_NAME_BAD_RE = re.compile(r"[0-9@#$%^&*_=+<>{}\[\]|\\/?!！？;；:：,，。\"“”'‘’()（）]")
_MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
_PHONE_NOISE_RE = re.compile(r"[\s\-\u3000()（）]+")
_ACCOUNT_RE = re.compile(r"^[0-9]{10,30}$")
_ACCOUNT_NOISE_RE = re.compile(r"[\s\-\u3000]+")
_MANGLED_RE = re.compile(r"^[0-9]+(\.[0-9]*)?[eE][+-]?[0-9]+$|^[0-9]+\.[0-9]*$")
_DATE_RES = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_EXCEL_EPOCH = date(1899, 12, 30)


class FieldError(ValueError):
    """A value that cannot be accepted; `code` is stable, `message` is Chinese."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _text(raw: object) -> str:
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return unicodedata.normalize("NFKC", str(raw)).strip()


_FORMULA_TEXT_RE = re.compile(r'^=\s*"(.*)"$')


def strip_text_marks(text: str) -> str:
    """Drop the marks people and old exports add to keep Excel from turning a number into a
    float: a leading apostrophe (`'330683...`) and the formula form `="330683..."`."""
    text = text.strip()
    if text[:1] in ("'", "`", "‘", "’"):
        return text[1:].strip()
    if text[:1] == "=":
        m = _FORMULA_TEXT_RE.match(text)
        if m:
            return m[1].strip()
    return text


def normalize_name(raw: object) -> str:
    """A person's name: full-width folded; spaces people add to align two-character
    Chinese names (`王  芳`) removed; Latin names keep single spaces; `·` unified."""
    text = _text(raw).translate(_DOTS)
    if not text:
        raise FieldError("missing_name", "姓名为空")
    if _HAS_LATIN_RE.search(text):
        text = _SPACES_RE.sub(" ", text)
    else:
        text = _SPACES_RE.sub("", text)
    if _NAME_BAD_RE.search(text):
        raise FieldError("bad_name", "姓名中含有数字或符号")
    if len(text) > NAME_MAX:
        raise FieldError("bad_name", f"姓名超过{NAME_MAX}个字")
    return text


def normalize_phone(raw: object) -> str:
    """An 11-digit mobile number, or "" when blank. A numeric cell is fine (11 digits fit)."""
    if raw is None or raw == "":
        return ""
    if isinstance(raw, float) and not raw.is_integer():
        raise FieldError("bad_phone", "手机号应为11位数字，以1开头")
    text = _PHONE_NOISE_RE.sub("", strip_text_marks(_text(raw)))
    if text.startswith("+86"):
        text = text[3:]
    elif len(text) == 13 and text.startswith("86"):
        text = text[2:]
    if not text:
        return ""
    if not _MOBILE_RE.match(text):
        raise FieldError("bad_phone", "手机号应为11位数字，以1开头")
    return text


def normalize_bank_name(raw: object) -> str:
    text = _SPACES_RE.sub(" ", _text(raw))
    if len(text) > 128:
        raise FieldError("bad_bank_name", "开户银行名称过长（超过128个字）")
    return text


def normalize_bank_account(raw: object) -> str:
    """Digits only (spaces and dashes dropped), or "" when blank.

    A card number is 16-19 digits: in a numeric cell Excel keeps only 15 significant
    digits, so a number that large is refused as mangled.
    """
    if raw is None or raw == "":
        return ""
    if isinstance(raw, float | int) and not isinstance(raw, bool):
        if abs(raw) >= 1e15 or (isinstance(raw, float) and not raw.is_integer()):
            raise FieldError(
                "excel_mangled",
                "银行账号已被Excel转换成数字，后几位已丢失，无法还原；"
                "请把该列设为文本格式后重新填写",
            )
        raw = str(int(raw))
    text = _ACCOUNT_NOISE_RE.sub("", strip_text_marks(_text(raw))).upper()
    if not text:
        return ""
    if _MANGLED_RE.match(text):
        raise FieldError(
            "excel_mangled",
            "银行账号已被Excel转换成数字（如6.22202E+18），后几位已丢失，无法还原；"
            "请把该列设为文本格式后重新填写",
        )
    if not _ACCOUNT_RE.match(text):
        raise FieldError("bad_bank_account", "银行账号应为10至30位数字")
    return text


def parse_date_cell(raw: object) -> date | None:
    """A date cell as offices fill it: a real date, `2026-01-05`, `2026/1/5`, `2026.1.5`,
    `2026年1月5日`, `20260105`, or an Excel serial number. None when blank."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        # A date cell whose format was lost shows its serial number (days since 1899-12-30).
        if float(raw).is_integer() and 20000 <= raw <= 80000:
            return _EXCEL_EPOCH + timedelta(days=int(raw))
        raw = str(int(raw)) if float(raw).is_integer() else str(raw)
    text = _text(raw)
    for pattern in _DATE_RES:
        m = pattern.match(text)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                break
    raise FieldError("bad_date", f"日期“{text}”无法识别，请写成 2026-01-05 的形式")
