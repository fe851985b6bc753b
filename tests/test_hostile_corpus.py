"""The hostile corpus (`tests/hostile_files.py`) through every import command and upload
page: each file gets a clear error, no process dies, nothing is written.

Files are made at test time, small (the full-size ones are measured by
`benchmarks/hostile_files.py`, which prints each process's peak memory).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from huzhu.claims.models import Claim
from huzhu.enrollment.models import Enrollment, EnrollmentImport
from huzhu.hospitals.models import Hospital
from huzhu.members.models import Member
from huzhu.organizations.models import Role, Union, UnionKind
from huzhu.payments.models import PaymentReturn
from huzhu.payments.selectors import QueueFilters
from huzhu.payments.services import payment_batch_create
from huzhu.plans.models import PlanVersion
from huzhu.settlements.models import SettlementBatch, SettlementRecord
from tests import hostile_files as hostile
from tests.factories import SchemeYearFactory, UnionFactory, UserFactory, make_id_number
from tests.payments.conftest import approved_claim, enrolled_member

pytestmark = pytest.mark.django_db

ID = make_id_number(dt.date(1973, 6, 6))
# Each import's own header (and a row), for the file with two blank header cells.
HEADERS = {
    "enrollment": (["姓名", "身份证号", "手机号"], ["张三", ID, "13800000001"]),
    "unions": (["代码", "名称", "类型", "上级代码"], ["X1", "某工会", "基层工会", "F0"]),
    "hospitals": (["医院代码", "医院名称", "医院等级"], ["H9", "某医院", "二级"]),
    "settlements": (
        ["settlement_id", "id_number", "admit_date", "discharge_date", "total_cost"],
        ["S1", ID, "2026-01-02", "2026-01-03", "1000.00"],
    ),
    "bank_return": (
        ["序号", "户名", "账号", "开户行", "金额", "处理结果"],
        ["1", "张三", "6222020200000000001", "工行", "10.00", "成功"],
    ),
    "plan": (["year", "name"], ["2026", "x"]),
}
CORPUS = [*hostile.CORPUS, "duplicate_blank_headers"]


@functools.cache
def corpus_file(key: str, target: str) -> tuple[str, bytes]:
    if key == "duplicate_blank_headers":
        headers, row = HEADERS[target]
        return "blank-headers.csv", hostile.duplicate_blank_headers_csv(headers, row)
    name, make = hostile.CORPUS[key]
    return name, make(False)


@pytest.fixture
def world(db, settings, tmp_path):
    settings.HUZHU_DOCUMENT_DIR = tmp_path / "private"  # uploads too
    fed = UnionFactory(code="F0", name="市总工会", kind=UnionKind.FEDERATION)
    year = SchemeYearFactory(year=2026)
    finance = UserFactory(username="fin", role=Role.FEDERATION_FINANCE, union=fed)
    member = enrolled_member(fed, year, name="回盘甲")
    approved_claim(member, year, 1000)
    created = payment_batch_create(acting_user=finance, filters=QueueFilters(payee_kind="member"))
    return {
        "fed": fed,
        "year": year,
        "finance": finance,
        "reviewer": UserFactory(username="rev", role=Role.FEDERATION_REVIEWER, union=fed),
        "batch": created.batch,
    }


def written() -> dict:
    """What an import could write: all of it must stay as it was."""
    return {
        "members": Member.objects.count(),
        "enrollments": Enrollment.objects.count(),
        "enrollment_imports": EnrollmentImport.objects.count(),
        "unions": Union.objects.count(),
        "hospitals": Hospital.objects.count(),
        "settlement_records": SettlementRecord.objects.count(),
        "claims": Claim.objects.count(),
        "payment_returns": PaymentReturn.objects.count(),
        "plan_versions": PlanVersion.objects.count(),
    }


def run(*args) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    return code, out.getvalue() + err.getvalue()


COMMANDS = {
    "enrollment": lambda w, p: ("import-enrollment", p, "--union", "F0", "--year", "2026"),
    "unions": lambda w, p: ("import-unions", p),
    "hospitals": lambda w, p: ("import-hospitals", p),
    "settlements": lambda w, p: ("import-settlements", p),
    "bank_return": lambda w, p: ("payment-batch", "import-return", w["batch"].number, p),
    "plan": lambda w, p: ("plan-load", p),
}


@pytest.mark.parametrize("target", list(COMMANDS))
@pytest.mark.parametrize("key", CORPUS)
def test_every_import_command_refuses_every_hostile_file(world, tmp_path, key, target):
    name, data = corpus_file(key, target)
    path = tmp_path / name
    path.write_bytes(data)
    before = written()
    code, output = run(*COMMANDS[target](world, str(path)))
    assert code in (1, 2), output
    assert "Traceback" not in output
    assert name in output  # the reason names the file
    assert written() == before


def _enrollment_page(client, world, name, data):
    client.force_login(UserFactory(username="op", role=Role.UNION_OPERATOR, union=world["fed"]))
    response = client.post(
        reverse("web:enrollment_import"),
        {
            "scheme_year": world["year"].pk,
            "consent_attested": "on",
            "file": SimpleUploadedFile(name, data),
        },
        follow=True,
    )
    return response.status_code, response.content.decode()


def _settlement_page(client, world, name, data):
    client.force_login(world["reviewer"])
    response = client.post(
        "/staff/settlements/", {"file": SimpleUploadedFile(name, data)}, follow=True
    )
    return response.status_code, response.content.decode()


def _bank_return_page(client, world, name, data):
    client.force_login(world["finance"])
    response = client.post(
        reverse("web:payment_batch_return", args=[world["batch"].pk]),
        {"file": SimpleUploadedFile(name, data)},
    )
    return response.status_code, response.content.decode()


PAGES = {
    "enrollment": _enrollment_page,
    "settlements": _settlement_page,
    "bank_return": _bank_return_page,
}


@pytest.mark.parametrize("target", list(PAGES))
@pytest.mark.parametrize("key", CORPUS)
def test_every_upload_page_refuses_every_hostile_file(
    client, world, tmp_path, django_capture_on_commit_callbacks, key, target
):
    name, data = corpus_file(key, target)
    before = written()
    with django_capture_on_commit_callbacks(execute=True):  # the settlement task runs
        status, html = PAGES[target](client, world, name, data)
    assert status in (200, 400)
    assert written() == before
    # The reason is on the page, or on the batch the upload made (then failed, not pending)
    batches = list(SettlementBatch.objects.all())
    if batches:
        (batch,) = batches
        assert batch.state == "failed" and batch.error
        assert str(tmp_path) not in batch.error
        reason = batch.error
    else:
        reason = html
    assert str(tmp_path) not in html
    assert any(word in reason for word in ("文件", "CSV", "Excel")), reason[:500]
    assert "Traceback" not in html


def test_simulate_refuses_every_hostile_settlement_file(tmp_path):
    plan = Path(__file__).parent / "data" / "plan-2026.yaml"
    enrollments = tmp_path / "enr.csv"
    enrollments.write_text(
        f"id_number,year,union_code,enrolled_on,renewal\n{ID},2026,U,2026-01-01,0\n"
    )
    for key in CORPUS:
        name, data = corpus_file(key, "settlements")
        path = tmp_path / name
        path.write_bytes(data)
        code, output = run(
            "simulate",
            "--plan",
            str(plan),
            "--enrollments",
            str(enrollments),
            "--settlements",
            str(path),
        )
        assert code == 2, (key, output)
        assert name in output and "Traceback" not in output
        with pytest.raises(json.JSONDecodeError):
            json.loads(output.strip().splitlines()[-1])  # no summary: nothing was priced
