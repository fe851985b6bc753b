"""`huzhu payment-batch ...` end to end: JSON summary last, exit codes 0/1/2."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from huzhu.claims.models import ClaimStatus
from huzhu.payments import bankfile
from huzhu.payments.models import BatchState, PaymentBatch
from huzhu.payments.services import batch_bank_rows
from tests.payments.conftest import approved_claim, enrolled_member

pytestmark = pytest.mark.django_db


def run(*args):
    """(exit code, output lines) of one command run."""
    out = io.StringIO()
    try:
        call_command("payment-batch", *args, stdout=out)
        code = 0
    except SystemExit as exc:
        code = exc.code
    except CommandError as exc:
        code = exc.returncode
        out.write(str(exc))
    return code, out.getvalue().strip().splitlines()


def test_create_export_send_return_through_the_command(pworld, tmp_path):
    a = enrolled_member(pworld.w1, pworld.year, name="命令甲")
    nocard = enrolled_member(pworld.w1, pworld.year, name="命令无卡", account="")
    claim = approved_claim(a, pworld.year, 88800)
    approved_claim(nocard, pworld.year, 100)

    code, lines = run("create", "--payee", "member", "--union", "PW1")
    assert code == 0
    number = lines[0]
    assert number.startswith("DF")
    assert any("命令无卡" in line and "未登记银行账号" in line for line in lines)
    summary = json.loads(lines[-1])
    assert summary["batch"] == number and summary["total"] == "888.00"
    assert summary["left_out"] == 1

    out = tmp_path / "bank.xlsx"
    code, lines = run("export", number, "--format", "xlsx", "--out", str(out))
    assert code == 0
    assert json.loads(lines[-1])["sha256"] == bankfile.checksum(out.read_bytes())

    assert run("mark-sent", number)[0] == 0
    batch = PaymentBatch.objects.get(number=number)
    ret = tmp_path / "return.csv"
    ret.write_bytes(bankfile.write_return_file(batch_bank_rows(batch), {}))
    code, lines = run("import-return", number, str(ret), "--paid-on", "2026-11-27")
    assert code == 0
    summary = json.loads(lines[-1])
    assert summary["applied"] is True and summary["success"] == 1
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAID

    code, lines = run("import-return", number, str(ret))
    assert code == 0 and json.loads(lines[-1])["applied"] is False


def test_refusals_exit_1_and_usage_errors_exit_2(pworld, tmp_path):
    a = enrolled_member(pworld.w1, pworld.year)
    approved_claim(a, pworld.year, 1000)
    assert run("create", "--union", "NOPE")[0] == 2
    assert run("create", "--approved-from", "2026/01/01")[0] == 2
    assert run("export", "DF-NONE", "--format", "csv", "--out", str(tmp_path / "x"))[0] == 2

    code, lines = run("create")
    number = lines[0]
    code, lines = run("create")
    assert code == 1 and json.loads(lines[-1])["code"] == "nothing_to_pay"

    assert run("mark-sent", number)[0] == 1  # not exported yet
    run("export", number, "--format", "csv", "--out", str(tmp_path / "b.csv"))
    run("mark-sent", number)
    bad = tmp_path / "bad.csv"
    text = bankfile.write_return_file(
        batch_bank_rows(PaymentBatch.objects.get(number=number)), {}
    ).decode("utf-8-sig")
    bad.write_text(text.replace("10.00", "10.01"), encoding="utf-8")
    code, lines = run("import-return", number, str(bad))
    assert code == 1
    assert any("第2行 金额" in line for line in lines)
    assert PaymentBatch.objects.get(number=number).state == BatchState.SENT
    assert run("import-return", number, str(tmp_path / "missing.csv"))[0] == 2
    assert run("cancel", number)[0] == 1  # sent batches cannot be cancelled


def test_cancel_command(pworld):
    a = enrolled_member(pworld.w1, pworld.year)
    approved_claim(a, pworld.year, 1000)
    number = run("create")[1][0]
    code, lines = run("cancel", number, "--reason", "重做")
    assert code == 0
    assert json.loads(lines[-1]) == {
        "action": "cancel",
        "batch": number,
        "state": "cancelled",
        "claims_released": 1,
    }
