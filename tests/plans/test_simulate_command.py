"""`huzhu simulate` end to end on the bureau's GBK sample (no database)."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from .conftest import DATA

SAMPLE = DATA / "sample-national-fields-gbk.csv"
PLAN = DATA / "plan-2026.yaml"
ROOT = Path(__file__).resolve().parents[2]

# Enrollments for some of the sample's people: renewals, a new member still waiting, a
# row Excel mangled, and someone from another year.
ENROLLMENTS = """id_number,year,union_code,enrolled_on,renewal
330683196708099315,2026,U1,2025-11-01,true
330683197007229708,2026,U1,2025-11-01,true
330683197306063816,2026,U1,2025-11-01,true
330683197902034763,2026,U2,2025-12-15,false
330683198703188967,2026,U2,2026-03-20,false
3.30683E+17,2026,U2,2025-11-01,true
330683199512238794,2025,U2,2024-11-01,true
"""


@pytest.fixture
def enrollments(tmp_path):
    path = tmp_path / "enrollments.csv"
    path.write_text(ENROLLMENTS, encoding="utf-8")
    return path


def run(*args):
    out = io.StringIO()
    call_command("simulate", *[str(a) for a in args], stdout=out)
    lines = out.getvalue().strip().splitlines()
    return lines, json.loads(lines[-1])


def read_out(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_simulate_writes_the_documented_csv_and_summary(tmp_path, enrollments):
    out = tmp_path / "out.csv"
    lines, summary = run(
        "--plan", PLAN, "--enrollments", enrollments, "--settlements", SAMPLE, "--out", out
    )
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("settlement_id,benefit,status,amount,deductible_used,")
    rows = read_out(out)
    inpatient = rows[:21]
    assert [r["benefit"] for r in inpatient] == ["inpatient"] * 21
    assert [r["settlement_id"] for r in inpatient][:2] == [
        "S330683202600000000",
        "S330683202600000001",
    ]
    by_id = {r["settlement_id"]: r for r in inpatient}
    # 刘芳 renewed: base 39754.20 − 24572.43 = 15181.77; 500 deductible; 10,000 at 50% + 4,681.77 at 60%
    first = by_id["S330683202600000000"]
    assert (first["status"], first["amount"], first["deductible_used"]) == (
        "covered",
        "7809.06",
        "500.00",
    )
    assert (first["band_1_amount"], first["band_2_amount"]) == ("5000.00", "2809.06")
    # the refund cancels row 4 (same mdtrt_id)
    assert by_id["S330683202600000003"]["status"] == "reversed"
    assert by_id["S3306832026R0000003"]["status"] == "reversal"
    # enrolled 2025-12-15 as new: covered from 2026-03-15; admitted 2026-02-06
    assert by_id["S330683202600000004"]["status"] == "waiting_period"
    assert by_id["S330683202600000005"]["status"] == "waiting_period"
    for r in inpatient:
        if r["status"] != "covered":
            assert (r["amount"], r["deductible_used"]) == ("0.00", "0.00")
    plan = summary["plans"][0]
    assert summary["settlements_encoding"] == "gb18030"
    assert plan["rows"] == 21
    assert plan["status_counts"]["reversal"] == 1
    assert plan["members_enrolled"] == 5
    assert plan["enrollment_rows_rejected"] == 1
    total = sum(int(r["amount"].replace(".", "")) for r in rows)
    assert plan["payout_total"] == f"{total // 100}.{total % 100:02d}"
    assert plan["loss_ratio"] is not None
    assert any("赔付率" in line for line in lines)


def test_row_and_bulk_engines_write_identical_files(tmp_path, enrollments):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    run("--plan", PLAN, "--enrollments", enrollments, "--settlements", SAMPLE, "--out", a)
    run(
        "--plan",
        PLAN,
        "--enrollments",
        enrollments,
        "--settlements",
        SAMPLE,
        "--out",
        b,
        "--engine",
        "row",
    )
    assert a.read_bytes() == b.read_bytes()


def test_several_plans_side_by_side_and_as_year(tmp_path, enrollments):
    richer = tmp_path / "2027.yaml"
    richer.write_text(
        PLAN.read_text(encoding="utf-8")
        .replace("year: 2026", "year: 2027")
        .replace("2026-", "2027-")
        .replace('"0.50"', '"0.80"'),
        encoding="utf-8",
    )
    o1, o2 = tmp_path / "o1.csv", tmp_path / "o2.csv"
    lines, summary = run(
        "--plan",
        PLAN,
        "--plan",
        richer,
        "--as-year",
        "2026",
        "--enrollments",
        enrollments,
        "--settlements",
        SAMPLE,
        "--out",
        o1,
        "--out",
        o2,
    )
    first, second = summary["plans"]
    assert second["year"] == 2026 and second["period"] == ["2026-01-01", "2026-12-31"]
    assert second["members_enrolled"] == first["members_enrolled"] == 5
    assert float(second["payout_total"]) > float(first["payout_total"])
    assert len(read_out(o1)) == len(read_out(o2))


def test_xlsx_settlements(tmp_path, enrollments):
    text = SAMPLE.read_bytes().decode("gbk")
    book = openpyxl.Workbook()
    sheet = book.active
    for row in csv.reader(io.StringIO(text)):
        sheet.append(row)
    path = tmp_path / "set.xlsx"
    book.save(path)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    run("--plan", PLAN, "--enrollments", enrollments, "--settlements", SAMPLE, "--out", a)
    _, summary = run(
        "--plan", PLAN, "--enrollments", enrollments, "--settlements", path, "--out", b
    )
    assert summary["settlements_encoding"] == "xlsx"
    assert a.read_bytes() == b.read_bytes()


def test_malformed_rows_do_not_stop_the_run(tmp_path, enrollments):
    path = tmp_path / "bad.csv"
    path.write_text(
        "settlement_id,id_number,admit_date,discharge_date,self_pay_in_policy\n"
        "S1,330683196708099315,2026-03-01,2026-03-05,1.234\n"
        "S2,3.30683E+17,2026-03-01,2026-03-05,100.00\n",
        encoding="utf-8",
    )
    out = tmp_path / "o.csv"
    run("--plan", PLAN, "--enrollments", enrollments, "--settlements", path, "--out", out)
    rows = read_out(out)
    assert [r["status"] for r in rows] == ["invalid", "invalid"]
    assert rows[0]["reason"] == "self_pay_in_policy：金额超过两位小数"
    assert rows[1]["reason"].startswith("id_number：身份证号已被Excel转换成数字")


@pytest.mark.parametrize(
    "problem",
    ["bad_plan", "missing_file", "missing_column", "out_count"],
)
def test_malformed_plan_or_unreadable_file_exits_2(tmp_path, enrollments, problem):
    plan, settlements, extra = PLAN, SAMPLE, []
    if problem == "bad_plan":
        plan = tmp_path / "bad.yaml"
        plan.write_text(
            PLAN.read_text(encoding="utf-8").replace('"0.60"', '"1.60"'), encoding="utf-8"
        )
    elif problem == "missing_file":
        settlements = tmp_path / "nope.csv"
    elif problem == "missing_column":
        settlements = tmp_path / "cols.csv"
        settlements.write_text("setl_id,certno\nS1,x\n", encoding="utf-8")
    else:
        extra = ["--out", tmp_path / "a.csv", "--out", tmp_path / "b.csv"]
    with pytest.raises(CommandError) as exc:
        call_command(
            "simulate",
            "--plan",
            str(plan),
            "--enrollments",
            str(enrollments),
            "--settlements",
            str(settlements),
            *map(str, extra),
            stdout=io.StringIO(),
        )
    assert exc.value.returncode == 2
    if problem == "bad_plan":
        assert "benefits[0].tiers[1].ratio" in str(exc.value)


def test_console_script_exit_codes(tmp_path, enrollments):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "huzhu.test_settings"}
    base = [
        sys.executable,
        "-m",
        "huzhu",
        "simulate",
        "--plan",
        str(PLAN),
        "--enrollments",
        str(enrollments),
    ]
    ok = subprocess.run(
        [*base, "--settlements", str(SAMPLE)], capture_output=True, env=env, cwd=ROOT
    )
    assert ok.returncode == 0, ok.stderr.decode()
    assert json.loads(ok.stdout.decode().strip().splitlines()[-1])["rows"] == 21
    bad = subprocess.run(
        [*base, "--settlements", str(tmp_path / "none.csv")], capture_output=True, env=env, cwd=ROOT
    )
    assert bad.returncode == 2
    assert "找不到文件" in bad.stderr.decode()


def test_xlsx_with_numeric_cells(tmp_path, enrollments):
    # Given a sheet typed by hand: dates as dates, amounts as numbers, and one ID number
    # that Excel turned into a float.
    from datetime import date as day

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(
        ["settlement_id", "id_number", "admit_date", "discharge_date", "self_pay_in_policy"]
    )
    sheet.append(["S1", "330683196708099315", day(2026, 3, 1), day(2026, 3, 5), 3000.5])
    sheet.append(["S2", 330683196708099315, day(2026, 4, 1), day(2026, 4, 5), 1000])
    path = tmp_path / "typed.xlsx"
    book.save(path)
    out = tmp_path / "o.csv"
    run("--plan", PLAN, "--enrollments", enrollments, "--settlements", path, "--out", out)
    rows = read_out(out)
    assert (rows[0]["status"], rows[0]["base"], rows[0]["amount"]) == (
        "covered",
        "3000.50",
        "1250.25",
    )
    assert rows[1]["reason_code"] == "invalid.id_number.excel_mangled"
