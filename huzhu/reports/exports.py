"""Claim list and member list as .xlsx, with the filters the page shows.

The caller passes the queryset it already scoped and filtered (claim_list / member_list),
says whether the user may and asked to see full ID numbers (and bank accounts), and audits
the export. ID numbers and accounts are masked otherwise. Rows are streamed (xlsxwriter's
constant-memory mode) and capped at EXPORT_MAX_ROWS: a larger export is refused so the
user narrows the filters.
"""

from __future__ import annotations

import io
from decimal import Decimal

import xlsxwriter

from huzhu.core.crypto import decrypt_text_many
from huzhu.core.masking import mask_account

__all__ = ["EXPORT_MAX_ROWS", "ExportTooLarge", "claims_xlsx", "members_xlsx"]

EXPORT_MAX_ROWS = 200_000


class ExportTooLarge(ValueError):
    def __init__(self, count: int) -> None:
        super().__init__(
            f"符合条件的记录有 {count:,} 条，超过单次导出 {EXPORT_MAX_ROWS:,} 条的上限，请缩小筛选范围"
        )
        self.count = count


def _book(title: str, headers: list[str], filters_text: str):
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "constant_memory": True})
    sheet = book.add_worksheet(title)
    bold = book.add_format({"bold": True})
    sheet.write(0, 0, title, bold)
    sheet.write(1, 0, filters_text)
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    sheet.write_row(2, 0, headers, head)
    return out, book, sheet


def _yuan(fen):
    return None if fen is None else float(Decimal(fen) / 100)


CLAIM_HEADERS = [
    "申请编号",
    "姓名",
    "身份证号",
    "工会",
    "保障项目",
    "来源",
    "医院",
    "入院日期",
    "出院日期",
    "状态",
    "金额（元）",
    "核准时间",
    "发放时间",
]


def claims_xlsx(qs, *, reveal_id: bool, filters_text: str = "") -> tuple[bytes, int]:
    """(workbook, rows) of the claims in `qs` (already scoped and filtered)."""
    from django.utils import timezone

    from huzhu.claims.models import ClaimSource, ClaimStatus

    count = qs.count()
    if count > EXPORT_MAX_ROWS:
        raise ExportTooLarge(count)
    out, book, sheet = _book("互助申请", CLAIM_HEADERS, filters_text)
    money = book.add_format({"num_format": "#,##0.00"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    statuses, sources = dict(ClaimStatus.choices), dict(ClaimSource.choices)
    rows = _clear_ids(
        qs.values_list(
            "number",
            "member__name",
            "member__id_number_encrypted" if reveal_id else "member__id_number_masked",
            "union__name",
            "benefit_name",
            "source",
            "hospital_name",
            "admit_date",
            "discharge_date",
            "status",
            "amount_fen",
            "approved_at",
            "paid_at",
        ),
        [2] if reveal_id else [],
    )
    r = 2
    for r, row in enumerate(rows, start=3):
        (num, name, idn, union, benefit, source, hosp, admit, disch, status, fen, appr, paid) = row
        sheet.write_string(r, 0, num)
        sheet.write_string(r, 1, name)
        sheet.write_string(r, 2, idn)
        sheet.write_string(r, 3, union)
        sheet.write_string(r, 4, benefit)
        sheet.write_string(r, 5, str(sources.get(source, source)))
        sheet.write_string(r, 6, hosp)
        for c, v, fmt in ((7, admit, day), (8, disch, day)):
            if v:
                sheet.write_datetime(r, c, v, fmt)
        sheet.write_string(r, 9, str(statuses.get(status, status)))
        if fen is not None:
            sheet.write_number(r, 10, _yuan(fen), money)
        for c, v in ((11, appr), (12, paid)):
            if v:
                sheet.write_datetime(r, c, timezone.localtime(v).replace(tzinfo=None), when)
    sheet.set_column(0, 0, 15)
    sheet.set_column(2, 2, 21)
    sheet.set_column(3, 6, 16)
    sheet.set_column(7, 12, 12)
    book.close()
    return out.getvalue(), max(0, r - 2)


MEMBER_HEADERS = ["姓名", "身份证号", "性别", "出生日期", "手机号", "工会", "开户银行", "银行账号"]


def members_xlsx(
    qs, *, reveal_id: bool, reveal_account: bool, filters_text: str = ""
) -> tuple[bytes, int]:
    """(workbook, rows) of the members in `qs` (already scoped and filtered)."""
    from huzhu.core.crypto import decrypt_text

    count = qs.count()
    if count > EXPORT_MAX_ROWS:
        raise ExportTooLarge(count)
    out, book, sheet = _book("职工名单", MEMBER_HEADERS, filters_text)
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    # Revealed: ID numbers and phones decrypted (a role that may reveal ID numbers sees the
    # phone too, as before); otherwise the stored masked forms, nothing decrypted.
    rows = _clear_ids(
        qs.values_list(
            "name",
            "id_number_encrypted" if reveal_id else "id_number_masked",
            "sex",
            "birth_date",
            "phone_encrypted" if reveal_id else "phone_masked",
            "union__name",
            "bank_name",
            "bank_account_encrypted",
            "bank_account_last4",
        ),
        [1, 4] if reveal_id else [],
    )
    r = 2
    for r, (name, idn, sex, birth, phone, union, bank, enc, last4) in enumerate(rows, start=3):
        sheet.write_string(r, 0, name)
        sheet.write_string(r, 1, idn)
        sheet.write_string(r, 2, {"male": "男", "female": "女"}.get(sex, sex or ""))
        if birth:
            sheet.write_datetime(r, 3, birth, day)
        sheet.write_string(r, 4, phone or "")
        sheet.write_string(r, 5, union or "")
        sheet.write_string(r, 6, bank or "")
        if last4:
            sheet.write_string(r, 7, decrypt_text(enc) if reveal_account else mask_account(last4))
    sheet.set_column(0, 0, 10)
    sheet.set_column(1, 1, 21)
    sheet.set_column(4, 7, 16)
    book.close()
    return out.getvalue(), max(0, r - 2)


def _clear_ids(values_list, positions: list[int], chunk: int = 5000):
    """The rows of `values_list`, with the encrypted values at `positions` decrypted, a
    chunk of rows at a time (`decrypt_text_many`)."""
    rows = values_list.iterator(chunk_size=chunk)
    if not positions:
        yield from rows
        return
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) == chunk:
            yield from _decrypted(batch, positions)
            batch = []
    yield from _decrypted(batch, positions)


def _decrypted(batch: list[tuple], positions: list[int]):
    if not batch:
        return
    columns = {p: iter(decrypt_text_many([row[p] for row in batch if row[p]])) for p in positions}
    for row in batch:
        out = list(row)
        for p, clear in columns.items():
            out[p] = (next(clear) or "") if row[p] else ""
        yield tuple(out)
