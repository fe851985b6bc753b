"""`huzhu import-enrollment`: output lines, the JSON summary last, exit codes 0 / 1 / 2."""

import json
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from huzhu.enrollment.models import Enrollment
from tests.enrollment.helpers import id_number, xlsx
from tests.factories import SchemeYearFactory, UnionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(tmp_path):
    UnionFactory(code="W001", name="第一基层工会")
    SchemeYearFactory(year=2026)
    return tmp_path


def run(*args):
    """(exit code, stdout lines) of the command as the console script runs it.

    Rows are enrolled on 2025-12-01 unless the test says otherwise: with today's date a
    new member's cover could start after 2026 ends (refused), depending on the day the
    suite runs."""
    import io

    if "--enrolled-on" not in args and "--year" in args:
        args = (*args, "--enrolled-on", "2025-12-01")

    out = io.StringIO()
    try:
        call_command("import-enrollment", *args, stdout=out, stderr=io.StringIO())
        code = 0
    except SystemExit as exc:
        code = exc.code
    except CommandError as exc:
        code = exc.returncode
        out.write(str(exc))
    return code, out.getvalue().strip().splitlines()


def test_done_prints_summary_last(setup):
    path = setup / "名单.xlsx"
    path.write_bytes(xlsx([["张三", id_number(), None, None, None]]))
    code, lines = run(str(path), "--union", "W001", "--year", "2026", "--enrolled-on", "2025-12-01")
    assert code == 0
    assert json.loads(lines[-1]) == {
        "rows": 1,
        "enrolled": 1,
        "renewals": 0,
        "already_enrolled": 0,
        "errors": 0,
        "not_consented": 0,
    }
    assert Enrollment.objects.get().enrolled_on == date(2025, 12, 1)


def test_refused_lists_each_problem_on_one_line_and_exits_1(setup):
    path = setup / "名单.xlsx"
    path.write_bytes(
        xlsx(
            [
                ["张三", id_number(), None, None, None],
                ["李四", "330683197306063817", None, None, None],
                [None, 330683197306063816, None, None, None],
            ]
        )
    )
    code, lines = run(str(path), "--union", "W001", "--year", "2026")
    assert code == 1
    assert "第3行 身份证号: 身份证号校验位错误" in lines
    assert "第4行 姓名: 姓名为空" in lines
    assert any(line.startswith("第4行 身份证号: 身份证号已被Excel转换成数字") for line in lines)
    assert json.loads(lines[-1])["errors"] == 2
    assert json.loads(lines[-1])["enrolled"] == 0
    assert Enrollment.objects.count() == 0


def test_valid_only_exits_0_and_still_lists_the_problems(setup):
    path = setup / "名单.xlsx"
    path.write_bytes(
        xlsx([["张三", id_number(), None, None, None], ["李四", "123", None, None, None]])
    )
    code, lines = run(str(path), "--union", "W001", "--year", "2026", "--valid-only")
    assert code == 0
    assert "第3行 身份证号: 身份证号应为18位" in lines
    assert json.loads(lines[-1])["enrolled"] == 1


def test_csv_report_names_the_encoding(setup):
    path = setup / "名单.csv"
    path.write_bytes(f"姓名,身份证号\r\n张三,{id_number()}\r\n".encode("gbk"))
    code, lines = run(str(path), "--union", "W001", "--year", "2026")
    assert code == 0
    assert "gb18030" in lines[0]


@pytest.mark.parametrize(
    "args",
    [
        ["missing.xlsx", "--union", "W001", "--year", "2026"],
        ["{file}", "--union", "NOPE", "--year", "2026"],
        ["{file}", "--union", "W001", "--year", "2031"],
        ["{file}", "--union", "W001", "--year", "2026", "--enrolled-on", "1/5/2026"],
        ["{garbage}", "--union", "W001", "--year", "2026"],
    ],
)
def test_usage_errors_and_unreadable_files_exit_2(setup, args):
    good = setup / "ok.xlsx"
    good.write_bytes(xlsx([["张三", id_number(), None, None, None]]))
    garbage = setup / "bad.xlsx"
    garbage.write_bytes(b"PK\x03\x04 this is no workbook")
    args = [a.format(file=good, garbage=garbage) for a in args]
    args[0] = args[0] if args[0] != "missing.xlsx" else str(setup / "missing.xlsx")
    code, _lines = run(*args)
    assert code == 2
    assert Enrollment.objects.count() == 0


def test_console_script_exit_code_and_hyphenated_name(setup, tmp_path):
    """Through `python -m huzhu`, as a user runs it (the command name has a hyphen)."""
    import os
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "huzhu", "import-enrollment", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "huzhu.test_settings"},
    )
    assert result.returncode == 0, result.stderr
    assert "--valid-only" in result.stdout and "--enrolled-on" in result.stdout
