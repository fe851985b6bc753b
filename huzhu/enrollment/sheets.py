"""Sheets for the workplace unions: the enrollment template to fill in, and a refused file's
problems to send back (both .xlsx, written with xlsxwriter)."""

from __future__ import annotations

import io

import xlsxwriter

from .rowchecks import COLUMN_LABELS

__all__ = ["enrollment_problems_xlsx", "enrollment_template_xlsx"]

TEMPLATE_COLUMNS = [
    "name",
    "id_number",
    "phone",
    "bank_name",
    "bank_account",
    "enrolled_on",
    "consent",
]
_WIDTHS = {"name": 12, "id_number": 22, "phone": 14, "bank_name": 24, "bank_account": 24}
# The 同意书 column's dropdown: the two values people pick (the import accepts the other
# spellings of CONSENT_VALUES too).
CONSENT_CHOICES = ["是", "否"]
_NOTES = [
    "姓名、身份证号必填；其余各列可空（空格不会清除系统中已有的信息）。",
    "身份证号、手机号、银行账号三列已设为“文本”格式，请勿改为数字：Excel 会把18位身份证号"
    "变成 3.30683E+17，后几位就丢失了，这样的行会被拒绝。",
    "参保日期格式 YYYY-MM-DD；不填则为导入当天（或导入页面上填写的日期）。",
    "新参保职工有观察期，观察期结束晚于年度结束的不能参保本年度（会提示改为下一年度）。",
    "一人一年只能通过一个工会参保；同一文件重复导入不会产生重复记录。",
    "同意书（个人信息处理同意书）一列可空：职工已签署的填“是”或留空，未签署、不同意的填"
    "“否”。填“否”的职工，医保结算数据不会自动办理互助金，转人工审核。",
    "表头上方可以有标题行，空行会被跳过。",
]


def enrollment_template_xlsx(*, rows: int = 500) -> bytes:
    """The import template: Chinese headers, text-formatted ID/phone/account columns (so
    Excel keeps every digit), a date column, and a sheet of notes."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("参保名单")
    head = book.add_format({"bold": True, "border": 1, "bg_color": "#DDEBF7", "align": "center"})
    text = book.add_format({"num_format": "@"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    for col, name in enumerate(TEMPLATE_COLUMNS):
        sheet.write_string(0, col, COLUMN_LABELS[name], head)
        fmt = day if name == "enrolled_on" else text
        sheet.set_column(col, col, _WIDTHS.get(name, 14), fmt)
    sheet.freeze_panes(1, 0)
    sheet.data_validation(
        1,
        TEMPLATE_COLUMNS.index("id_number"),
        rows,
        TEMPLATE_COLUMNS.index("id_number"),
        {
            "validate": "length",
            "criteria": "==",
            "value": 18,
            "error_title": "身份证号",
            "error_message": "身份证号应为18位（请按文本输入）",
        },
    )
    consent = TEMPLATE_COLUMNS.index("consent")
    sheet.data_validation(
        1,
        consent,
        rows,
        consent,
        {
            "validate": "list",
            "source": CONSENT_CHOICES,
            "error_title": "同意书",
            "error_message": "请填“是”或“否”，或留空（视为已签署）",
        },
    )
    notes = book.add_worksheet("填写说明")
    notes.set_column(0, 0, 100)
    for i, line in enumerate(_NOTES):
        notes.write_string(i, 0, f"{i + 1}. {line}")
    book.close()
    return out.getvalue()


def enrollment_problems_xlsx(*, preview, file_name: str, union_name: str, year: int) -> bytes:
    """Every refused row of a checked file (row as in the file, name, masked ID, column,
    reason): the sheet an operator sends back to the workplace to correct."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("有问题的行")
    title = book.add_format({"bold": True, "font_size": 13})
    head = book.add_format({"bold": True, "border": 1, "bg_color": "#FDE9E7"})
    cell = book.add_format({"border": 1, "text_wrap": True, "valign": "top"})
    sheet.write_string(0, 0, f"{union_name} {year}年度参保名单《{file_name}》中需要更正的行", title)
    headers = ["行号", "姓名", "身份证号", "列", "问题"]
    sheet.write_row(2, 0, headers, head)
    for col, width in enumerate([8, 12, 22, 12, 70]):
        sheet.set_column(col, col, width)
    r = 3
    for row in preview:
        for p in row.problems:
            sheet.write_number(r, 0, row.row, cell)
            sheet.write_string(r, 1, row.name or "", cell)
            sheet.write_string(r, 2, row.id_number_masked or "", cell)
            sheet.write_string(r, 3, p.column, cell)
            sheet.write_string(r, 4, p.message, cell)
            r += 1
    if r == 3:
        sheet.write_string(3, 0, "没有需要更正的行。")
    sheet.freeze_panes(3, 0)
    book.close()
    return out.getvalue()
