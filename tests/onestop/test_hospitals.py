"""Hospital registry import, hospital API keys, monthly statements and the hospital payment batch."""

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from huzhu.api.models import ApiKey
from huzhu.claims.models import Claim
from huzhu.hospitals.imports import hospital_import
from huzhu.hospitals.models import Hospital
from huzhu.hospitals.statements import hospital_statements
from huzhu.payments.selectors import QueueFilters, hospital_payees
from huzhu.payments.services import payment_batch_create
from tests.onestop.conftest import stay

pytestmark = pytest.mark.django_db

GOOD = (
    "医院代码,医院名称,医院等级,开户银行,银行账号\n"
    "H001,嵊州市人民医院,三级乙等,工商银行嵊州支行,6222 0212 3456 7890 123\n"
    "H002,嵊州市中医院,二级甲等,农业银行嵊州支行,6228481234567890\n"
)


def run(args, *, expect=0):
    out = io.StringIO()
    try:
        call_command(*args, stdout=out)
        code = 0
    except SystemExit as exc:
        code = exc.code
    assert code == expect, out.getvalue()
    lines = out.getvalue().strip().splitlines()
    return json.loads(lines[-1]), lines


def test_import_creates_encrypts_and_is_idempotent(tmp_path):
    f = tmp_path / "hospitals.csv"
    f.write_text(GOOD, encoding="utf-8")
    summary, _ = run(["import-hospitals", str(f)])
    assert summary == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0, "errors": 0}
    h = Hospital.objects.get(code="H001")
    assert h.bank_account == "6222021234567890123"
    assert "6222021234567890123" not in h.bank_account_encrypted
    assert h.bank_account_masked.endswith("0123")
    again, _ = run(["import-hospitals", str(f)])
    assert again == {"rows": 2, "created": 0, "updated": 0, "unchanged": 2, "errors": 0}
    # A changed name updates; a blank account keeps the stored one.
    f.write_text(
        GOOD.replace(
            "嵊州市中医院,二级甲等,农业银行嵊州支行,6228481234567890", "嵊州市中医医院,二级甲等,,"
        ),
        encoding="utf-8",
    )
    third, _ = run(["import-hospitals", str(f)])
    assert (third["updated"], third["unchanged"]) == (1, 1)
    h2 = Hospital.objects.get(code="H002")
    assert (h2.name, h2.bank_account) == ("嵊州市中医医院", "6228481234567890")


def test_bad_rows_refuse_the_file_unless_valid_only(tmp_path):
    f = tmp_path / "hospitals.csv"
    f.write_text(
        GOOD + "H003,,一级,工商银行,123\nH001,重复,,,\nH 4,某院,,,6.22202E+18\n", encoding="utf-8"
    )
    summary, lines = run(["import-hospitals", str(f)], expect=1)
    assert summary["errors"] == 3 and summary["created"] == 0
    assert not Hospital.objects.exists()
    text = "\n".join(lines)
    assert "第4行 医院名称" in text and "第4行 银行账号" in text
    assert "第5行 医院代码" in text and "第6行 医院代码" in text and "第6行 银行账号" in text
    summary, _ = run(["import-hospitals", str(f), "--valid-only"])
    assert (summary["created"], summary["errors"]) == (2, 3)
    assert set(Hospital.objects.values_list("code", flat=True)) == {"H001", "H002"}


def test_unreadable_file_or_missing_columns_is_exit_2(tmp_path):
    from django.core.management.base import CommandError

    missing = tmp_path / "x.csv"
    with pytest.raises(CommandError) as exc:
        call_command("import-hospitals", str(missing), stdout=io.StringIO())
    assert exc.value.returncode == 2
    f = tmp_path / "cols.csv"
    f.write_text("医院等级,开户银行\n一级,工行\n", encoding="utf-8")
    with pytest.raises(CommandError) as exc:
        call_command("import-hospitals", str(f), stdout=io.StringIO())
    assert exc.value.returncode == 2


def test_gbk_xlsx_and_payments_read_the_account(tmp_path):
    import xlsxwriter

    path = tmp_path / "h.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["定点医院名单"])
    sheet.write_row(2, 0, ["医院代码", "医院名称", "开户银行", "银行账号"])
    sheet.write_row(3, 0, ["H009", "嵊州市妇幼保健院", "建设银行", "6217001234567890"])
    book.close()
    result = hospital_import(data=path.read_bytes(), file_name=path.name)
    assert result.summary["created"] == 1
    payee = hospital_payees(["H009"])["H009"]
    assert (payee.name, payee.bank_name, payee.account) == (
        "嵊州市妇幼保健院",
        "建设银行",
        "6217001234567890",
    )


def test_api_key_create_for_a_registered_hospital(hospital):
    summary, _ = run(["api-key", "create", "--hospital", "H001"])
    key = ApiKey.objects.get(key_id=summary["key_id"])
    assert (key.kind, key.owner_code, key.owner_name) == ("hospital", "H001", hospital.name)
    from django.core.management.base import CommandError

    with pytest.raises(CommandError) as exc:
        call_command("api-key", "create", "--hospital", "H404", stdout=io.StringIO())
    assert exc.value.returncode == 2


def test_monthly_statement_lists_what_the_hospital_advanced_and_feeds_a_batch(
    plans, enroll, call, tmp_path
):
    m1, m2 = enroll(), enroll(name="李四")
    call("settle", {**stay("S1", m1), "request_id": "R1"})
    call("settle", {**stay("S2", m2, base="12000.00"), "request_id": "R2"})
    call(
        "settle",
        {
            **stay("S3", m1, base="10.00", admit="2026-04-01", discharge="2026-04-02"),
            "request_id": "R3",
        },
    )
    call("cancel", {"hospital_code": "H001", "request_id": "C3", "settlement_id": "S3"})
    month = dt.date.today().replace(day=1)
    [st] = hospital_statements(month=month, hospital_code="H001")
    assert [x.settlement_id for x in st.lines] == ["S1", "S2", "S3"]
    assert [x.state for x in st.lines] == ["awaiting_payment", "awaiting_payment", "cancelled"]
    assert st.advanced_fen == 125000 + 590000
    out = tmp_path / "statement.xlsx"
    summary, lines = run(
        ["hospital-statement", "--month", month.strftime("%Y-%m"), "--out", str(out)]
    )
    assert (summary["claims"], summary["advanced"]) == (2, "7150.00")
    assert any("payment-batch create --payee hospital" in line for line in lines)
    book = load_workbook(out)
    assert book.sheetnames == ["汇总", "H001"]
    cells = [c for row in book["H001"].iter_rows(values_only=True) for c in row if c]
    assert "S1" in cells and "已撤销" in cells and "7150.00" in cells
    # The federation pays the hospital: one row for the hospital, its two live claims.
    result = payment_batch_create(
        acting_user=None,
        filters=QueueFilters(payee_kind="hospital", source="onestop"),
    )
    rows = list(result.batch.rows.all())
    assert len(rows) == 1
    assert (rows[0].hospital_code, rows[0].amount_fen) == ("H001", 715000)
    [st] = hospital_statements(month=month, hospital_code="H001")
    assert [x.state for x in st.lines] == ["in_batch", "in_batch", "cancelled"]
    assert Claim.objects.filter(status="void").count() == 1
