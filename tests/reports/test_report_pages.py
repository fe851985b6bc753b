"""The report pages, the xlsx export with native charts and the `huzhu report` command."""

import io
import json
import zipfile

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from huzhu.audit.models import AuditEvent
from huzhu.claims.models import Claim

pytestmark = pytest.mark.django_db


def _payout_total(union_codes=None):
    return sum(
        c.amount_fen
        for c in Claim.objects.select_related("union", "scheme_year")
        if c.status in ("approved", "paid")
        and c.scheme_year.year == 2026
        and (union_codes is None or c.union.code in union_codes)
    )


def _run(*args):
    out = io.StringIO()
    call_command("report", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_payouts_json_contract(scheme):
    lines = _run("payouts", "--year", "2026", "--by", "benefit", "--format", "json")
    data = json.loads(lines[-1])
    assert list(data) == ["report", "year", "by", "rows", "total"]
    assert (data["report"], data["year"], data["by"]) == ("payouts", 2026, "benefit")
    assert all(list(r) == ["key", "claims", "amount"] for r in data["rows"])
    assert list(data["total"]) == ["claims", "amount"]
    total = _payout_total()
    assert data["total"]["amount"] == f"{total // 100}.{total % 100:02d}"
    assert data["total"]["claims"] == sum(r["claims"] for r in data["rows"])
    assert {r["key"] for r in data["rows"]} == {"inpatient", "critical_illness"}


def test_command_union_scope_and_table(scheme):
    data = json.loads(
        _run("payouts", "--year", "2026", "--union", "T01", "--by", "union", "--format", "json")[-1]
    )
    total = _payout_total({"WA", "WA2"})
    assert data["total"]["amount"] == f"{total // 100}.{total % 100:02d}"
    text = "\n".join(_run("fund", "--year", "2026"))
    assert "互助金收支表" in text and "赔付率" in text


@pytest.mark.parametrize(
    "args",
    [
        ["nope", "--year", "2026"],
        ["payouts", "--year", "2026", "--by", "colour"],
        ["payouts", "--year", "1999"],
        ["payouts", "--year", "2026", "--union", "NOPE"],
        ["payouts", "--year", "2026", "--format", "xlsx"],
    ],
)
def test_command_usage_errors_exit_2(scheme, args):
    with pytest.raises(CommandError) as err:
        _run(*args)
    assert err.value.returncode == 2


@pytest.mark.parametrize(
    "name", ["fund", "payouts", "zero-trip", "turnaround", "rejections", "caps", "enrollment"]
)
def test_every_report_writes_xlsx_with_native_charts(scheme, tmp_path, name):
    out = tmp_path / f"{name}.xlsx"
    summary = json.loads(_run(name, "--year", "2026", "--format", "xlsx", "--out", str(out))[-1])
    assert summary["out"] == str(out)
    book = openpyxl.load_workbook(out)
    assert book.worksheets
    with zipfile.ZipFile(out) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert charts  # native Excel charts (drawing parts), not pictures
    if name == "payouts":
        sheet = book.worksheets[0]
        total = next(r for r in sheet.iter_rows(min_row=5, values_only=True) if r[1] == "合计")
        assert round(total[3] * 100) == _payout_total()


def test_page_shows_figures_and_chart_data_without_inline_script(scheme, users, client):
    client.force_login(users["finance"])
    response = client.get(reverse("web:report", args=["payouts"]) + "?year=2026&by=channel")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="report-charts" type="application/json"' in html
    assert "reports/vendor/echarts/echarts.min.js" in html and "reports/charts.js" in html
    # Every <script> either loads a file or carries JSON data: nothing runs inline.
    import re

    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert "免申即享" in html and "https://" not in html.split("<body", 1)[1].split("</header>")[0]


def test_operator_page_is_scoped_and_cannot_pick_another_union(scheme, users, client):
    client.force_login(users["operator_town"])
    ok = client.get(reverse("web:report", args=["payouts"]) + "?year=2026&by=union")
    html = ok.content.decode()
    assert ok.status_code == 200 and "丙公司工会" not in html and "甲公司工会" in html
    refused = client.get(reverse("web:report", args=["payouts"]) + "?year=2026&union=WB")
    assert refused.status_code == 400
    assert "不存在或不在您的范围内" in refused.content.decode()


def test_page_xlsx_export_is_audited(scheme, users, client):
    client.force_login(users["reviewer"])
    response = client.get(reverse("web:report", args=["fund"]) + "?year=2026&format=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert openpyxl.load_workbook(io.BytesIO(response.content)).worksheets
    event = AuditEvent.objects.get(action="report.export")
    assert event.actor == users["reviewer"] and event.object_id == "fund"


def test_portal_editor_cannot_open_reports(scheme, client):
    from huzhu.organizations.models import Role
    from tests.factories import UserFactory

    client.force_login(UserFactory(role=Role.PORTAL_EDITOR))
    assert client.get(reverse("web:reports")).status_code == 403


def test_vendored_echarts_is_the_npm_dist_file_with_its_license():
    from pathlib import Path

    import huzhu

    vendor = Path(huzhu.__file__).parent / "reports" / "static" / "reports" / "vendor" / "echarts"
    head = (vendor / "echarts.min.js").read_text(encoding="utf-8")[:2000]
    assert "Apache" in head or "echarts" in head
    assert "Apache License" in (vendor / "LICENSE").read_text(encoding="utf-8")
