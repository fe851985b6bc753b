"""The shared sheet reader: header found under title rows, aliases, encodings, raw cell types."""

import io
from datetime import date

import openpyxl
import pytest

from huzhu.core.tabular import RowProblem, TabularError, normalize_header, read_table

ALIASES = {
    "姓名": "name",
    "name": "name",
    "身份证号": "id_number",
    "身份证号码": "id_number",
    "id_number": "id_number",
    "手机号": "phone",
    "phone": "phone",
    "参保日期": "enrolled_on",
}
REQUIRED = {"name", "id_number"}


def xlsx(*rows, title=None, sheets=None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=4)
    for row in rows:
        sheet.append(list(row))
    for name, extra_rows, state in sheets or []:
        extra = book.create_sheet(name)
        extra.sheet_state = state
        for row in extra_rows:
            extra.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_header_below_merged_title_and_blank_rows_is_found():
    data = xlsx(
        [],
        ["填表说明：身份证号请设为文本格式"],
        ["序号", "姓名", "身份证号", "手机号"],
        [1, "张三", "330683197306063816", 13812345678],
        [],
        [None, None, None, None],
        [2, "李四", "33068319700305869X", None],
        title="嵊州市2026年度职工医疗互助参保名单",
    )
    sheet = read_table(data, "名单.xlsx", aliases=ALIASES, required=REQUIRED)
    assert sheet.header_row == 4
    assert sheet.encoding is None
    assert sheet.columns == ["name", "id_number", "phone"]
    assert [n for n, _ in sheet.rows] == [5, 8]  # spreadsheet row numbers, blank rows dropped
    assert sheet.rows[0][1] == {
        "name": "张三",
        "id_number": "330683197306063816",
        "phone": 13812345678.0,
    }
    assert sheet.rows[1][1]["phone"] is None


def test_numeric_id_cell_keeps_its_float_type():
    data = xlsx(["姓名", "身份证号"], ["张三", 330683197306063816])
    ((_, cells),) = read_table(data, "a.xlsx", aliases=ALIASES, required=REQUIRED).rows
    assert isinstance(cells["id_number"], float)


def test_date_cells_arrive_as_dates():
    data = xlsx(["姓名", "身份证号", "参保日期"], ["张三", "x", date(2026, 1, 5)])
    ((_, cells),) = read_table(data, "a.xlsx", aliases=ALIASES, required=REQUIRED).rows
    assert cells["enrolled_on"] == date(2026, 1, 5)


@pytest.mark.parametrize(
    "header",
    ["姓名", " 姓名 ", "*姓名", "姓名：", "ＮＡＭＥ", "Name", "name"],
)
def test_header_spellings_match(header):
    data = xlsx([header, "身份证号码"], ["张三", "330683197306063816"])
    sheet = read_table(data, "a.xlsx", aliases=ALIASES, required=REQUIRED)
    assert sheet.columns == ["name", "id_number"]


def test_normalize_header_folds_width_case_spaces_and_underscores():
    assert normalize_header("ＩＤ_Number ") == normalize_header("id number") == "idnumber"
    assert normalize_header(None) == ""


def test_missing_required_column_is_named():
    data = xlsx(["姓名", "手机号"], ["张三", "13812345678"])
    with pytest.raises(TabularError) as exc:
        read_table(data, "a.xlsx", aliases=ALIASES, required=REQUIRED)
    assert exc.value.code == "missing_columns"
    assert "身份证号" in exc.value.message


def test_no_header_at_all():
    data = xlsx(["a", "b"], [1, 2])
    with pytest.raises(TabularError) as exc:
        read_table(data, "a.xlsx", aliases=ALIASES, required=REQUIRED)
    assert exc.value.code == "no_header"


def test_header_on_a_later_sheet_when_the_first_is_a_cover():
    data = xlsx(
        ["封面"],
        sheets=[
            ("隐藏", [["姓名", "身份证号"], ["隐", "1"]], "hidden"),
            ("名单", [["姓名", "身份证号"], ["张三", "330683197306063816"]], "visible"),
        ],
    )
    sheet = read_table(data, "a.xlsx", aliases=ALIASES, required=REQUIRED)
    assert sheet.rows == [(2, {"name": "张三", "id_number": "330683197306063816"})]


@pytest.mark.parametrize(
    ("payload", "encoding"),
    [
        ("姓名,身份证号\r\n张三,330683197306063816\r\n".encode(), "utf-8"),
        ("姓名,身份证号\n张三,330683197306063816\n".encode("utf-8-sig"), "utf-8-sig"),
        ("姓名,身份证号\r\n张三,330683197306063816\r\n".encode("gbk"), "gb18030"),
    ],
)
def test_csv_encodings(payload, encoding):
    sheet = read_table(payload, "a.csv", aliases=ALIASES, required=REQUIRED)
    assert sheet.encoding == encoding
    assert sheet.rows == [(2, {"name": "张三", "id_number": "330683197306063816"})]


def test_csv_short_rows_and_tabs():
    payload = "说明\n姓名\t身份证号\t手机号\n张三\t330683197306063816\n\n".encode()
    sheet = read_table(payload, "a.txt", aliases=ALIASES, required=REQUIRED)
    assert sheet.header_row == 2
    assert sheet.rows == [(3, {"name": "张三", "id_number": "330683197306063816", "phone": None})]


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"PK\x03\x04 not really a zip",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 broken",
        b"\x00\x01\xff" * 50,
    ],
)
def test_unreadable_files(payload):
    with pytest.raises(TabularError) as exc:
        read_table(payload, "bad.xlsx", aliases=ALIASES, required=REQUIRED)
    assert "bad.xlsx" in exc.value.message


def test_row_problem_line():
    problem = RowProblem(
        row=5, column="身份证号", code="bad_check_digit", message="身份证号校验位错误"
    )
    assert problem.as_line() == "第5行 身份证号: 身份证号校验位错误"
