"""`huzhu plan-load` and the plan selectors (database)."""

import io
import json
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from huzhu.audit.models import AuditEvent
from huzhu.enrollment.models import SchemeYear
from huzhu.plans.models import PlanVersion
from huzhu.plans.selectors import PlanNotLoaded, plan_current, plan_for_year

from .conftest import DATA

pytestmark = pytest.mark.django_db

TEXT = (DATA / "plan-2026.yaml").read_text(encoding="utf-8")


def load(path):
    out = io.StringIO()
    call_command("plan-load", str(path), stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_first_load_creates_the_scheme_year_and_version_1(tmp_path):
    path = tmp_path / "2026.yaml"
    path.write_text(TEXT, encoding="utf-8")
    summary = load(path)
    assert (summary["year"], summary["version"], summary["created"]) == (2026, 1, True)
    assert summary["scheme_year_created"] is True
    year = SchemeYear.objects.get(year=2026)
    assert (year.start, year.end) == (date(2026, 1, 1), date(2026, 12, 31))
    assert (year.fee_per_member_fen, year.waiting_period_days, year.claim_window_days) == (
        6000,
        90,
        365,
    )
    assert AuditEvent.objects.filter(action="plan.load").count() == 1
    assert plan_for_year(2026).inpatient.cap_fen == 3000000


def test_loading_the_identical_file_again_changes_nothing(tmp_path):
    path = tmp_path / "2026.yaml"
    path.write_text(TEXT, encoding="utf-8")
    load(path)
    path.write_text(TEXT.replace("\n", "\r\n"), encoding="utf-8")  # same content, CRLF
    summary = load(path)
    assert (summary["version"], summary["created"]) == (1, False)
    assert PlanVersion.objects.count() == 1
    assert AuditEvent.objects.filter(action="plan.load").count() == 1


def test_a_changed_file_becomes_a_new_version_and_updates_the_year(tmp_path):
    path = tmp_path / "2026.yaml"
    path.write_text(TEXT, encoding="utf-8")
    load(path)
    path.write_text(
        TEXT.replace('fee_per_member: "60.00"', 'fee_per_member: "80.00"'), encoding="utf-8"
    )
    summary = load(path)
    assert (summary["version"], summary["created"]) == (2, True)
    assert summary["scheme_year_updated"] == ["fee_per_member_fen"]
    assert SchemeYear.objects.get(year=2026).fee_per_member_fen == 8000
    version, plan = plan_current(2026)
    assert version.version == 2 and plan.fee_per_member_fen == 8000
    first = PlanVersion.objects.get(version=1)
    assert first.plan().fee_per_member_fen == 6000
    with pytest.raises(RuntimeError):
        first.save()


def test_a_malformed_plan_is_refused_with_every_problem(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(TEXT.replace('"0.60"', '"1.60"').replace('"500.00"', '"-1"'), encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("plan-load", str(path), stdout=out)
    assert exc.value.code == 1
    lines = out.getvalue().strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary["ok"] is False
    assert {p["path"] for p in summary["problems"]} == {
        "benefits[0].tiers[1].ratio",
        "benefits[0].deductible.amount",
    }
    assert not PlanVersion.objects.exists() and not SchemeYear.objects.exists()


def test_an_unreadable_file_exits_2(tmp_path):
    with pytest.raises(CommandError) as exc:
        call_command("plan-load", str(tmp_path / "missing.yaml"), stdout=io.StringIO())
    assert exc.value.returncode == 2


def test_a_plan_file_is_checked_before_yaml_reads_it(tmp_path):
    cases = {
        "empty.yaml": (b"", "是空的"),
        "big.yaml": (b"# " + b"," * (1024 * 1024) + b"\n", "超过1024 KB"),
        "scan.yaml": (b"%PDF-1.4\n" + bytes(range(256)), "不是文本文件"),
        "gbk.yaml": ("year: 2026\nname: 互助方案\n".encode("gbk"), "不是UTF-8编码（第2行"),
    }
    for name, (data, reason) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(CommandError) as exc:
            call_command("plan-load", str(tmp_path / name), stdout=io.StringIO())
        assert exc.value.returncode == 2 and reason in str(exc.value) and name in str(exc.value)
        assert str(tmp_path) not in str(exc.value)
    assert not PlanVersion.objects.exists()


def test_yaml_aliases_are_refused_before_they_expand(tmp_path):
    # A "billion laughs": nine levels of aliases, each ten times the one below.
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("plan-load", str(path), stdout=out)
    assert exc.value.code == 1
    assert "不支持YAML别名" in out.getvalue()
    assert not PlanVersion.objects.exists()


def test_no_plan_loaded_for_a_year():
    with pytest.raises(PlanNotLoaded):
        plan_for_year(2031)
