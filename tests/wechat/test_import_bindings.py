"""`huzhu wechat-import-bindings FILE`: bad rows named, all-or-nothing, idempotent."""

import io
import json

import pytest
from django.core.management import call_command

from huzhu.audit.models import AuditEvent
from huzhu.wechat.models import WeChatBinding
from huzhu.wechat.services import wechat_bind
from tests.factories import MemberFactory, make_id_number

pytestmark = pytest.mark.django_db


def run(tmp_path, text, *args, name="bindings.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    out = io.StringIO()
    code = 0
    try:
        call_command("wechat-import-bindings", str(path), *args, stdout=out)
    except SystemExit as exc:
        code = exc.code
    lines = out.getvalue().strip().splitlines()
    return code, lines[:-1], json.loads(lines[-1])


def test_binds_and_the_same_file_again_changes_nothing(tmp_path):
    a, b = MemberFactory(), MemberFactory()
    text = f"身份证号,openid\n{a.id_number},o_aaaa_0001\n{b.id_number},o_bbbb_0002\n"
    code, _, summary = run(tmp_path, text)
    assert code == 0
    assert summary == {"rows": 2, "bound": 2, "rebound": 0, "unchanged": 0, "errors": 0}
    assert dict(WeChatBinding.objects.values_list("openid", "member_id")) == {
        "o_aaaa_0001": a.pk,
        "o_bbbb_0002": b.pk,
    }
    assert set(WeChatBinding.objects.values_list("source", flat=True)) == {"import"}
    events = AuditEvent.objects.filter(action="wechat.bind").count()

    code, _, summary = run(tmp_path, text)
    assert code == 0
    assert summary == {"rows": 2, "bound": 0, "rebound": 0, "unchanged": 2, "errors": 0}
    assert AuditEvent.objects.filter(action="wechat.bind").count() == events


def test_bad_rows_are_named_and_nothing_is_written(tmp_path):
    a, b, c = MemberFactory(), MemberFactory(), MemberFactory()
    wechat_bind(member=c, openid="o_cccc_0003")
    unknown = make_id_number()
    bad_check_digit = b.id_number[:-1] + ("1" if b.id_number[-1] != "1" else "2")
    text = (
        "id_number,openid\n"
        f"{a.id_number},o_aaaa_0001\n"
        f"{unknown},o_xxxx_0009\n"
        f"{b.id_number},o_cccc_0003\n"
        f"{bad_check_digit},o_dddd_0004\n"
        f"{a.id_number},\n"
    )
    code, lines, summary = run(tmp_path, text)
    assert code == 1
    assert summary["errors"] == 4 and summary["bound"] == 0
    assert any(
        line.startswith("第3行 身份证号") and "没有该身份证号的职工" in line for line in lines
    )
    assert any(line.startswith("第4行 openid") and "已绑定另一名职工" in line for line in lines)
    assert any(line.startswith("第5行 身份证号") for line in lines)
    assert any(line.startswith("第6行 openid") for line in lines)
    assert WeChatBinding.objects.count() == 1  # only c's, from before


def test_valid_only_binds_the_good_rows(tmp_path):
    a = MemberFactory()
    text = f"身份证号,openid\n{a.id_number},o_aaaa_0001\n{make_id_number()},o_xxxx_0009\n"
    code, _, summary = run(tmp_path, text, "--valid-only")
    assert code == 0
    assert summary == {"rows": 2, "bound": 1, "rebound": 0, "unchanged": 0, "errors": 1}
    assert WeChatBinding.objects.get().member == a


def test_one_openid_for_two_members_in_the_file_is_refused(tmp_path):
    a, b = MemberFactory(), MemberFactory()
    text = f"身份证号,openid\n{a.id_number},o_same_0001\n{b.id_number},o_same_0001\n"
    code, lines, _ = run(tmp_path, text)
    assert code == 1 and "第3行 openid" in lines[0] and "第2行" in lines[0]


def test_xlsx_is_read(tmp_path):
    import openpyxl

    a = MemberFactory()
    wb = openpyxl.Workbook()
    wb.active.append(["身份证号", "openid"])
    wb.active.append([a.id_number, "o_xlsx_0001"])
    path = tmp_path / "b.xlsx"
    wb.save(path)
    out = io.StringIO()
    call_command("wechat-import-bindings", str(path), stdout=out)
    assert json.loads(out.getvalue().strip().splitlines()[-1])["bound"] == 1
