"""The fee statement (会费清单) of one union and scheme year, as an .xlsx file.

One row per active enrollment through the union (withdrawn ones are left out), with the fee
recorded on the enrollment; a total row sums the integer fen exactly. ID numbers are masked:
the statement is for collecting fees, not for identifying people.
"""

from __future__ import annotations

import io
from decimal import Decimal

import xlsxwriter

from huzhu.core.money import format_fen

from .models import Enrollment
from .selectors import enrollments_with_coverage

__all__ = ["fee_statement_rows", "fee_statement_xlsx"]

HEADERS = ["序号", "姓名", "身份证号", "参保日期", "类别", "保障起始日", "会费（元）"]


def fee_statement_rows(*, union, scheme_year) -> list[tuple]:
    """(name, masked ID, enrolled_on, "续保"/"新参保", coverage start, fee_fen) per member."""
    qs = enrollments_with_coverage(
        Enrollment.objects.filter(union=union, scheme_year=scheme_year, withdrawn_at__isnull=True)
    ).select_related("member", "scheme_year")
    return [
        (
            e.member.name,
            e.member.id_number_masked,
            e.enrolled_on,
            "续保" if e.is_renewal else "新参保",
            e.coverage_start,
            e.fee_fen,
        )
        for e in qs.order_by("member__name", "member__id_number_masked", "member_id")
    ]


def _yuan(fen: int) -> float:
    # Whole fen divided by 100 is exact to the cent as a float for any realistic fee.
    return float(Decimal(fen) / 100)


def fee_statement_xlsx(*, union, scheme_year) -> bytes:
    from .receipts import fee_positions

    rows = fee_statement_rows(union=union, scheme_year=scheme_year)
    total_fen = sum(r[5] for r in rows)
    position = fee_positions(scheme_year=scheme_year, union_ids=[union.id]).get(union.id)
    received_fen = position.received_fen if position else 0
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("会费清单")
    title = book.add_format({"bold": True, "font_size": 14, "align": "center"})
    head = book.add_format({"bold": True, "border": 1, "bg_color": "#DDEBF7", "align": "center"})
    cell = book.add_format({"border": 1})
    day = book.add_format({"border": 1, "num_format": "yyyy-mm-dd"})
    money = book.add_format({"border": 1, "num_format": "#,##0.00"})
    bold_money = book.add_format({"border": 1, "bold": True, "num_format": "#,##0.00"})
    bold = book.add_format({"border": 1, "bold": True})

    last_col = len(HEADERS) - 1
    sheet.merge_range(0, 0, 0, last_col, f"{scheme_year}职工医疗互助会费清单", title)
    sheet.merge_range(
        1,
        0,
        1,
        last_col,
        f"工会：{union.name}（{union.code}）    人数：{len(rows)}    "
        f"每人会费：{format_fen(scheme_year.fee_per_member_fen)}元    "
        f"应缴：{format_fen(total_fen)}元    已到账：{format_fen(received_fen)}元    "
        f"未缴：{format_fen(total_fen - received_fen)}元",
    )
    sheet.write_row(2, 0, HEADERS, head)
    for i, (name, id_masked, enrolled_on, kind, coverage, fee_fen) in enumerate(rows, start=1):
        r = 2 + i
        sheet.write_number(r, 0, i, cell)
        sheet.write_string(r, 1, name, cell)
        sheet.write_string(r, 2, id_masked, cell)
        sheet.write_datetime(r, 3, enrolled_on, day)
        sheet.write_string(r, 4, kind, cell)
        sheet.write_datetime(r, 5, coverage, day)
        sheet.write_number(r, 6, _yuan(fee_fen), money)
    total_row = 3 + len(rows)
    sheet.write_string(total_row, 0, "合计", bold)
    sheet.write_string(total_row, 1, f"{len(rows)}人", bold)
    for col in range(2, last_col):
        sheet.write_blank(total_row, col, None, bold)
    sheet.write_number(total_row, last_col, _yuan(total_fen), bold_money)
    sheet.set_column(0, 0, 6)
    sheet.set_column(1, 1, 12)
    sheet.set_column(2, 2, 22)
    sheet.set_column(3, 5, 12)
    sheet.set_column(6, 6, 12)
    sheet.freeze_panes(3, 0)
    book.close()
    return out.getvalue()
