"""The bank file layout, the return-file reader and the row-by-row match (pure, no database)."""

import csv
import datetime as dt
import io

import openpyxl
import pytest
import xlsxwriter

from huzhu.core.tabular import TabularError
from huzhu.payments.bankfile import (
    COLUMNS,
    MEMO_MAX,
    UNSPECIFIED_FAILURE,
    BankRow,
    accounts_match,
    checksum,
    match_return,
    memo_text,
    read_return_file,
    write_csv,
    write_return_file,
    write_xlsx,
)

CREATED = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)

ROWS = [
    BankRow(
        1,
        "张三",
        "6222020200112233445",
        "中国工商银行嵊州支行",
        123456,
        "职工医疗互助金 HZ2026-000001",
    ),
    BankRow(
        2, "李四", "6228480329876543210", "中国农业银行嵊州支行", 5, "职工医疗互助金 HZ2026-000002"
    ),
    BankRow(
        3,
        "王五",
        "6217001540001234567",
        "中国建设银行嵊州支行",
        1000000,
        "职工医疗互助金 HZ2026-000003",
    ),
]


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))


def test_csv_has_the_common_layout_with_a_total_row():
    lines = _csv_rows(write_csv(ROWS))
    assert tuple(lines[0]) == COLUMNS
    assert lines[1] == [
        "1",
        "张三",
        "6222020200112233445",
        "中国工商银行嵊州支行",
        "1234.56",
        "职工医疗互助金 HZ2026-000001",
    ]
    assert lines[2][4] == "0.05"
    assert lines[-1][:2] == ["合计", "共3笔"]
    assert lines[-1][4] == "11234.61"


def test_xlsx_keeps_accounts_as_text_amounts_exact_and_totals():
    data = write_xlsx(ROWS, title="DF20261125-00001", created=CREATED)
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    values = list(ws.iter_rows(values_only=True))
    assert values[0] == COLUMNS
    assert values[1][2] == "6222020200112233445"  # a string, every digit kept
    assert values[1][4] == pytest.approx(1234.56)
    assert values[-1][0] == "合计"
    assert values[-1][4] == pytest.approx(11234.61)


def test_same_rows_give_the_same_file_and_checksum():
    a = write_xlsx(ROWS, title="t", created=CREATED)
    b = write_xlsx(ROWS, title="t", created=CREATED)
    assert checksum(a) == checksum(b)
    assert len(checksum(a)) == 64
    assert checksum(write_csv(ROWS)) != checksum(write_csv(ROWS[:2]))


def test_memo_lists_claim_numbers_and_is_shortened_when_long():
    assert memo_text(["HZ2026-000001", "HZ2026-000002"]) == (
        "职工医疗互助金 HZ2026-000001、HZ2026-000002"
    )
    many = [f"HZ2026-{i:06d}" for i in range(40)]
    text = memo_text(many)
    assert len(text) <= MEMO_MAX
    assert text.endswith("等40笔")
    assert "HZ2026-000000" in text


def test_standard_return_file_round_trips_with_failures():
    data = write_return_file(ROWS, {2: (False, "账户已销户")})
    parsed = read_return_file(data, "return.csv")
    assert parsed.layout == "standard"
    assert not parsed.problems
    report = match_return(ROWS, parsed)
    assert report.ok
    assert [(r.seq, r.success, r.reason) for r in report.results] == [
        (1, True, ""),
        (2, False, "账户已销户"),
        (3, True, ""),
    ]


def _xlsx(rows: list[list[object]]) -> bytes:
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True})
    ws = wb.add_worksheet()
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if v is not None:
                ws.write(i, j, v)
    wb.close()
    return out.getvalue()


def test_a_bank_with_its_own_layout_is_read_through_its_column_map():
    # Given a return file with 收款人姓名/收款账号/交易金额/交易状态/备注 and a title row
    data = _xlsx(
        [
            ["代发工资回单 2026-11-26"],
            ["收款人姓名", "收款账号", "交易金额", "交易状态", "备注"],
            ["张三", "6222020200112233445", 1234.56, "交易成功", "职工医疗互助金"],
            ["李四", "6228480329876543210", "0.05", "交易失败", "户名与账号不符"],
            ["王五", "6217001540001234567", 10000, "交易成功", ""],
        ]
    )
    parsed = read_return_file(data, "回单.xlsx")
    assert parsed.layout == "rural_bank_example"
    report = match_return(ROWS, parsed)
    assert report.ok, [p.as_line() for p in report.problems]
    assert report.results[1].reason == "户名与账号不符"
    assert report.success_count == 2 and report.failed_count == 1


def test_mismatches_are_reported_row_by_row():
    text = write_return_file(ROWS, {}).decode("utf-8-sig")
    text = text.replace("1234.56", "1234.65").replace("6228480329876543210", "6228480329876543211")
    report = match_return(ROWS, read_return_file(text.encode("utf-8"), "r.csv"))
    assert not report.ok
    assert report.results == []
    codes = {(p.row, p.code) for p in report.problems}
    assert (2, "amount_mismatch") in codes
    assert (3, "account_mismatch") in codes
    assert all("序号" in p.message for p in report.problems)


def test_missing_extra_and_duplicate_rows_are_reported():
    lines = write_return_file(ROWS, {}).decode("utf-8-sig").splitlines()
    # drop 序号 2, duplicate 序号 3, add an unknown 序号 9
    body = [lines[0], lines[1], lines[3], lines[3], lines[3].replace("3,", "9,", 1)]
    report = match_return(ROWS, read_return_file("\r\n".join(body).encode(), "r.csv"))
    codes = [p.code for p in report.problems]
    assert "count_mismatch" in codes
    assert "missing_row" in codes
    assert "duplicate_seq" in codes
    assert "unknown_seq" in codes
    assert not report.ok


def test_unreadable_status_and_amount_are_row_problems():
    text = write_return_file(ROWS, {}).decode("utf-8-sig")
    text = text.replace("成功", "处理中", 1).replace("0.05", "0.055")
    report = match_return(ROWS, read_return_file(text.encode(), "r.csv"))
    codes = {(p.row, p.column, p.code) for p in report.problems}
    assert (2, "处理结果", "bad_result") in codes
    assert (3, "金额", "too_many_decimals") in codes


def test_gbk_return_file_and_missing_reason():
    text = write_return_file(ROWS, {1: (False, "")}).decode("utf-8-sig")
    parsed = read_return_file(text.encode("gb18030"), "r.csv")
    assert parsed.encoding == "gb18030"
    report = match_return(ROWS, parsed)
    assert report.ok
    assert report.results[0].reason == UNSPECIFIED_FAILURE


def test_file_without_result_column_is_refused():
    with pytest.raises(TabularError):
        read_return_file(write_csv(ROWS), "sent-file-not-return.csv")


def test_masked_accounts_compare_by_visible_digits():
    assert accounts_match("6222020200112233445", "6222***********3445")
    assert accounts_match("6222020200112233445", "6222****3445")
    assert not accounts_match("6222020200112233445", "6222****3446")
    assert not accounts_match("6222020200112233445", "6222020200112233446")


def test_excel_mangled_account_in_a_return_file_is_refused():
    data = _xlsx(
        [
            ["序号", "户名", "账号", "开户行", "金额", "用途/附言", "处理结果", "失败原因"],
            [1, "张三", 6.222020200112233e18, "x", 1234.56, "", "成功", ""],
        ]
    )
    report = match_return(ROWS[:1], read_return_file(data, "r.xlsx"))
    assert "excel_mangled" in {p.code for p in report.problems}


def test_exported_xlsx_reads_back_through_calamine_with_accounts_as_text():
    from huzhu.core.tabular import read_table

    data = write_xlsx(ROWS, title="t", created=CREATED)
    aliases = {name: name for name in COLUMNS}
    sheet = read_table(data, "bank.xlsx", aliases=aliases, required=set(COLUMNS))
    assert [r["账号"] for _, r in sheet.rows[:3]] == [r.account for r in ROWS]
    assert sheet.rows[0][1]["金额"] == pytest.approx(1234.56)
    assert sheet.rows[-1][1]["序号"] == "合计"
