"""Checking an enrollment sheet row by row, before the database is asked anything.

The accepted headers, the per-row shape (`Row`) and `check_rows`: names, ID numbers (one
vectorised polars pass), phones, bank details and dates are normalised the way offices type
them, and every problem is recorded with its row, its column and a stable code.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import polars as pl

from huzhu.core.masking import mask_id_number
from huzhu.core.tabular import RowProblem
from huzhu.members.fields import (
    FieldError,
    normalize_bank_account,
    normalize_bank_name,
    normalize_name,
    normalize_phone,
    parse_date_cell,
    strip_text_marks,
)
from huzhu.members.idnumbers import ID_ERROR_MESSAGES, with_id_number_check

# Accepted headers -> canonical column. The first header of each column is its label.
ALIASES: dict[str, str] = {
    "姓名": "name",
    "职工姓名": "name",
    "会员姓名": "name",
    "名字": "name",
    "name": "name",
    "full name": "name",
    "身份证号": "id_number",
    "身份证号码": "id_number",
    "身份证": "id_number",
    "公民身份号码": "id_number",
    "证件号码": "id_number",
    "id_number": "id_number",
    "id no": "id_number",
    "id card": "id_number",
    "手机号": "phone",
    "手机号码": "phone",
    "手机": "phone",
    "联系电话": "phone",
    "电话": "phone",
    "phone": "phone",
    "mobile": "phone",
    "开户银行": "bank_name",
    "开户行": "bank_name",
    "银行名称": "bank_name",
    "bank_name": "bank_name",
    "bank": "bank_name",
    "银行账号": "bank_account",
    "银行帐号": "bank_account",
    "银行卡号": "bank_account",
    "账号": "bank_account",
    "帐号": "bank_account",
    "卡号": "bank_account",
    "bank_account": "bank_account",
    "account_number": "bank_account",
    "参保日期": "enrolled_on",
    "登记日期": "enrolled_on",
    "入保日期": "enrolled_on",
    "enrolled_on": "enrolled_on",
    "enrollment_date": "enrolled_on",
    # Optional: 否 marks a member who did not sign the consent (个人信息处理同意书).
    "同意书": "consent",
    "是否同意": "consent",
    "签署同意书": "consent",
    "个人信息同意书": "consent",
    "consent": "consent",
}
COLUMN_LABELS = {
    "name": "姓名",
    "id_number": "身份证号",
    "phone": "手机号",
    "bank_name": "开户银行",
    "bank_account": "银行账号",
    "enrolled_on": "参保日期",
    "consent": "同意书",
}
REQUIRED = {"name", "id_number"}

STATUS_NEW = "new"
STATUS_RENEWAL = "renewal"
STATUS_ALREADY = "already_enrolled"
STATUS_ERROR = "error"


class Row:
    """One data row while it is being checked and classified."""

    __slots__ = (
        "row",
        "name",
        "id_number",
        "id_shown",
        "phone",
        "bank_name",
        "bank_account",
        "enrolled_on",
        "consent",
        "problems",
        "status",
        "member",
    )

    def __init__(self, row: int) -> None:
        self.row = row
        self.problems: list[RowProblem] = []
        self.status = STATUS_ERROR
        self.member = None  # the existing member's tuple, a row of imports._MEMBER_COLUMNS
        self.consent: bool | None = None  # the 同意书 cell: True, False, None (blank / no column)


# Values of the optional 同意书 column (compared stripped and lower-cased); blank: the
# operator's attestation for the whole file holds.
CONSENT_VALUES: dict[str, bool] = {
    **dict.fromkeys(
        ("是", "同意", "已同意", "签署", "已签", "已签署", "有", "y", "yes", "true", "1", "√", "✓"),
        True,
    ),
    **dict.fromkeys(
        (
            "否",
            "不同意",
            "未同意",
            "拒绝",
            "未签",
            "未签署",
            "无",
            "n",
            "no",
            "false",
            "0",
            "×",
            "✗",
        ),
        False,
    ),
}


def parse_consent_cell(raw) -> bool | None:
    """True (consented), False (did not), None (blank); ValueError for anything else."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float):
        if raw in (0, 1):
            return bool(raw)
        raise ValueError(raw)
    text = str(raw).strip().lower()
    if not text:
        return None
    try:
        return CONSENT_VALUES[text]
    except KeyError:
        raise ValueError(raw) from None


def problem(row: int, column: str, code: str, message: str) -> RowProblem:
    return RowProblem(row=row, column=COLUMN_LABELS[column], code=code, message=message)


# Values already in their normal form skip the row functions (the common case, by far).
_CLEAN_NAME = re.compile(r"[\u4e00-\u9fff]{1,20}(?:·[\u4e00-\u9fff]{1,20}){0,2}")  # <= 62 chars
_CLEAN_PHONE = re.compile(r"1[3-9][0-9]{9}")
_CLEAN_BANK_NAME = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]{1,128}")
_CLEAN_ACCOUNT = re.compile(r"[0-9]{10,30}")


_TEXT_MARKS = frozenset("'`‘’= ")


def _id_numbers(raws: list[object]) -> tuple[list[str | None], list[str | None]]:
    """Vectorised `normalize_id_number` over a column: (normalised or None, code or None).

    A numeric cell is refused as mangled: Excel keeps 15 significant digits of 18.
    """
    texts: list[str | None] = []
    mangled: list[bool] = []
    for raw in raws:
        if raw is None or raw.__class__ is str:
            if raw and raw[0] in _TEXT_MARKS:
                raw = strip_text_marks(raw)
            texts.append(raw)
            mangled.append(False)
        elif isinstance(raw, int | float) and not isinstance(raw, bool):
            small = abs(raw) < 1e15 and (isinstance(raw, int) or raw.is_integer())
            texts.append(str(int(raw)) if small else None)
            mangled.append(not small)
        else:  # a date or a boolean in the ID column
            texts.append(str(raw))
            mangled.append(False)
    frame = with_id_number_check(
        pl.LazyFrame({"raw": pl.Series(texts, dtype=pl.String)}), "raw", out="id", code="code"
    ).collect()
    codes = frame["code"].to_list()
    for i, flag in enumerate(mangled):
        if flag:
            codes[i] = "excel_mangled"
    numbers = [n if c is None else None for n, c in zip(frame["id"].to_list(), codes, strict=True)]
    return numbers, codes


def _shown_id(raw: object) -> str:
    if raw is None:
        return ""
    text = str(raw).strip()
    return mask_id_number(text) if len(text) == 18 else text


def check_rows(sheet, *, default_date: date, scheme_year, today: date) -> list[Row]:
    """Per-row checks that need no database: formats, dates, duplicates in the file."""
    earliest = scheme_year.start - timedelta(days=366)
    has_date_column = "enrolled_on" in sheet.columns
    has_consent_column = "consent" in sheet.columns
    id_numbers, id_codes = _id_numbers([cells.get("id_number") for _, cells in sheet.rows])
    clean_name, clean_phone = _CLEAN_NAME.fullmatch, _CLEAN_PHONE.fullmatch
    clean_bank, clean_account = _CLEAN_BANK_NAME.fullmatch, _CLEAN_ACCOUNT.fullmatch
    probe = Row(0)
    _check_date(probe, default_date, scheme_year, earliest, today)
    default_bad = bool(probe.problems)  # then every row using the default date says so
    first_seen: dict[str, int] = {}
    checked: list[Row] = []
    for (number, cells), id_number, id_code in zip(sheet.rows, id_numbers, id_codes, strict=True):
        r = Row(number)
        problems = r.problems
        get = cells.get

        raw = get("name")
        if raw.__class__ is str and clean_name(raw):
            r.name = raw
        else:
            try:
                r.name = normalize_name(raw)
            except FieldError as exc:
                r.name = "" if raw is None else str(raw)
                problems.append(problem(number, "name", exc.code, exc.message))

        if id_code is None:
            r.id_number = id_number
            r.id_shown = id_number[:6] + "********" + id_number[14:]  # mask_id_number, inlined
            first = first_seen.setdefault(id_number, number)
            if first != number:
                problems.append(
                    problem(
                        number,
                        "id_number",
                        "duplicate_in_file",
                        f"身份证号与第{first}行重复（同一人在文件中出现了两次）",
                    )
                )
        else:
            r.id_number = None
            r.id_shown = _shown_id(get("id_number"))
            code = "missing_id_number" if id_code == "empty" else id_code
            problems.append(problem(number, "id_number", code, ID_ERROR_MESSAGES[id_code]))

        raw = get("phone")
        if raw is None:
            r.phone = ""
        elif raw.__class__ is str and clean_phone(raw):
            r.phone = raw
        elif raw.__class__ is float and raw.is_integer() and clean_phone(text := str(int(raw))):
            r.phone = text  # a numeric cell: 11 digits survive Excel
        else:
            try:
                r.phone = normalize_phone(raw)
            except FieldError as exc:
                r.phone = str(raw)
                problems.append(problem(number, "phone", exc.code, exc.message))

        raw = get("bank_name")
        if raw is None:
            r.bank_name = ""
        elif raw.__class__ is str and clean_bank(raw):
            r.bank_name = raw
        else:
            try:
                r.bank_name = normalize_bank_name(raw)
            except FieldError as exc:
                r.bank_name = ""
                problems.append(problem(number, "bank_name", exc.code, exc.message))

        raw = get("bank_account")
        if raw is None:
            r.bank_account = ""
        elif raw.__class__ is str and clean_account(raw):
            r.bank_account = raw
        else:
            try:
                r.bank_account = normalize_bank_account(raw)
            except FieldError as exc:
                r.bank_account = ""
                problems.append(problem(number, "bank_account", exc.code, exc.message))

        enrolled_on = default_date
        if has_date_column:
            try:
                enrolled_on = parse_date_cell(get("enrolled_on")) or default_date
            except FieldError as exc:
                enrolled_on = None
                problems.append(problem(number, "enrolled_on", exc.code, exc.message))
        if enrolled_on is not None and (default_bad or enrolled_on is not default_date):
            _check_date(r, enrolled_on, scheme_year, earliest, today)
        r.enrolled_on = enrolled_on

        if has_consent_column:
            raw = get("consent")
            try:
                r.consent = parse_consent_cell(raw)
            except ValueError:
                problems.append(
                    problem(
                        number,
                        "consent",
                        "bad_consent",
                        f"同意书一列应填“是”或“否”（或 yes / no），不能是“{str(raw).strip()[:20]}”",
                    )
                )
        checked.append(r)
    return checked


def _check_date(r: Row, enrolled_on: date, scheme_year, earliest: date, today: date) -> None:
    if enrolled_on > today:
        r.problems.append(problem(r.row, "enrolled_on", "future_date", "参保日期不能晚于今天"))
    elif enrolled_on > scheme_year.end:
        r.problems.append(
            problem(
                r.row,
                "enrolled_on",
                "date_out_of_range",
                f"参保日期晚于{scheme_year.year}年度的结束日期{scheme_year.end:%Y-%m-%d}",
            )
        )
    elif enrolled_on < earliest:
        r.problems.append(
            problem(
                r.row,
                "enrolled_on",
                "date_out_of_range",
                f"参保日期早于{scheme_year.year}年度开始前一年",
            )
        )
