"""Fee receipts (会费到账): partial payments, due / received / outstanding, the command,
the finance-only form with a voucher, and the voucher's scope."""

import datetime as dt
import io
import json
import re

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse

from huzhu.audit.models import AuditEvent
from huzhu.enrollment.fees import fee_statement_xlsx
from huzhu.enrollment.models import FeeReceipt
from huzhu.enrollment.receipts import FeeReceiptError, fee_positions, fee_receipt_add
from tests.factories import EnrollmentFactory, MemberFactory, SchemeYearFactory

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def _documents(settings, tmp_path):
    settings.HUZHU_DOCUMENT_DIR = tmp_path / "docs"


@pytest.fixture
def year(tree):
    y = SchemeYearFactory(year=2026, fee_per_member_fen=6000)
    for _ in range(3):
        EnrollmentFactory(member=MemberFactory(union=tree["a"]), scheme_year=y)
    EnrollmentFactory(member=MemberFactory(union=tree["b"]), scheme_year=y)
    return y


def _run(*args):
    out = io.StringIO()
    try:
        call_command("fee-receipt", *args, stdout=out)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue().strip().splitlines()


def test_partial_payments_add_up_and_outstanding_is_due_minus_received(tree, year, finance):
    # Given a union owing 3 x 60.00, when it pays 100.00 then 50.00
    fee_receipt_add(
        union=tree["a"],
        scheme_year=year,
        amount_fen=10_000,
        received_on=dt.date(2026, 1, 5),
        acting_user=finance,
    )
    fee_receipt_add(
        union=tree["a"],
        scheme_year=year,
        amount_fen=5_000,
        received_on=dt.date(2026, 2, 5),
        acting_user=finance,
    )
    pos = fee_positions(scheme_year=year)
    assert (pos[tree["a"].id].due_fen, pos[tree["a"].id].received_fen) == (18_000, 15_000)
    assert pos[tree["a"].id].outstanding_fen == 3_000
    assert pos[tree["a"].id].receipts == 2
    assert pos[tree["b"].id].outstanding_fen == 6_000
    assert AuditEvent.objects.filter(action="fee_receipt.add", actor=finance).count() == 2


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"amount_fen": 0}, "amount_not_positive"),
        ({"received_on": dt.date(2099, 1, 1)}, "future_date"),
        ({"voucher": b"not an image"}, "voucher_refused"),
    ],
)
def test_bad_receipt_is_refused_with_its_reason_and_nothing_written(tree, year, kwargs, code):
    args = {
        "union": tree["a"],
        "scheme_year": year,
        "amount_fen": 100,
        "received_on": dt.date(2026, 1, 1),
        "acting_user": None,
    }
    with pytest.raises(FeeReceiptError) as err:
        fee_receipt_add(**{**args, **kwargs})
    assert err.value.code == code
    assert not FeeReceipt.objects.exists()


def test_only_finance_records_receipts(tree, year, operator_a, reviewer):
    for user in (operator_a, reviewer):
        with pytest.raises(FeeReceiptError) as err:
            fee_receipt_add(
                union=tree["a"],
                scheme_year=year,
                amount_fen=100,
                received_on=dt.date(2026, 1, 1),
                acting_user=user,
            )
        assert err.value.code == "role_not_allowed"


def test_command_adds_a_receipt_and_prints_the_position(tree, year, tmp_path):
    voucher = tmp_path / "slip.png"
    voucher.write_bytes(PNG)
    code, lines = _run(
        "add",
        "--union",
        "WA",
        "--year",
        "2026",
        "--amount",
        "120.50",
        "--date",
        "2026-01-10",
        "--voucher",
        str(voucher),
    )
    assert code == 0
    summary = json.loads(lines[-1])
    assert summary["amount"] == "120.50"
    assert (summary["due"], summary["received"], summary["outstanding"]) == (
        "180.00",
        "120.50",
        "59.50",
    )
    assert summary["voucher"] is True
    receipt = FeeReceipt.objects.get()
    assert receipt.amount_fen == 12_050 and receipt.entered_by is None
    assert receipt.voucher_content_type == "image/jpeg"


@pytest.mark.parametrize(
    "args",
    [
        ["--union", "NOPE", "--year", "2026", "--amount", "1", "--date", "2026-01-01"],
        ["--union", "WA", "--year", "2031", "--amount", "1", "--date", "2026-01-01"],
        ["--union", "WA", "--year", "2026", "--amount", "1.234", "--date", "2026-01-01"],
        ["--union", "WA", "--year", "2026", "--amount", "1", "--date", "2026/01/01"],
    ],
)
def test_command_usage_errors_exit_2(tree, year, args):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError) as err:
        call_command("fee-receipt", "add", *args, stdout=io.StringIO())
    assert err.value.returncode == 2
    assert not FeeReceipt.objects.exists()


def test_command_refuses_a_negative_amount_with_exit_1(tree, year):
    code, lines = _run(
        "add", "--union", "WA", "--year", "2026", "--amount", "-5", "--date", "2026-01-01"
    )
    assert code == 1
    assert json.loads(lines[-1])["code"] == "amount_not_positive"


def test_statement_xlsx_shows_due_received_outstanding(tree, year):
    fee_receipt_add(
        union=tree["a"],
        scheme_year=year,
        amount_fen=10_000,
        received_on=dt.date(2026, 1, 5),
        acting_user=None,
    )
    sheet = openpyxl.load_workbook(
        io.BytesIO(fee_statement_xlsx(union=tree["a"], scheme_year=year))
    ).active
    header = sheet.cell(2, 1).value
    assert "应缴：180.00元" in header and "已到账：100.00元" in header and "未缴：80.00元" in header


def test_finance_records_a_receipt_with_voucher_on_the_page(login, finance, tree, year):
    client = login(finance)
    page = client.get(reverse("web:fee_statements"))
    assert 'id="fee-receipt-form"' in page.content.decode()
    response = client.post(
        reverse("web:fee_receipt_add"),
        {
            "union": "WA",
            "year": "2026",
            "amount": "60.00",
            "received_on": "2026-01-03",
            "voucher": _upload("slip.png", PNG),
        },
    )
    assert response.status_code == 302
    receipt = FeeReceipt.objects.get()
    assert receipt.entered_by == finance and receipt.voucher
    html = client.get(reverse("web:fee_statements") + "?year=2026").content.decode()
    assert "60.00" in html and "120.00" in html  # received and outstanding of WA
    voucher = client.get(reverse("web:fee_receipt_voucher", args=[receipt.pk]))
    assert voucher.status_code == 200 and voucher["Content-Type"] == "image/jpeg"


def test_page_form_shows_the_reason_of_a_refusal(login, finance, tree, year):
    response = login(finance).post(
        reverse("web:fee_receipt_add"),
        {"union": "WA", "year": "2026", "amount": "1.001", "received_on": "2026-01-03"},
    )
    assert response.status_code == 400
    assert "超过两位小数" in response.content.decode()
    assert not FeeReceipt.objects.exists()


def test_operator_sees_positions_but_cannot_record_nor_open_other_vouchers(
    login, operator_a, tree, year
):
    receipt = fee_receipt_add(
        union=tree["b"],
        scheme_year=year,
        amount_fen=100,
        received_on=dt.date(2026, 1, 5),
        acting_user=None,
        voucher=PNG,
        voucher_name="b.png",
    )
    client = login(operator_a)
    html = client.get(reverse("web:fee_statements")).content.decode()
    assert "fee-receipt-form" not in html
    assert client.post(reverse("web:fee_receipt_add"), {}).status_code == 403
    assert client.get(reverse("web:fee_receipt_voucher", args=[receipt.pk])).status_code == 404


def _upload(name, data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def test_page_lists_a_receipt_entered_from_the_command_line(login, finance, tree, year):
    # Given a receipt `huzhu fee-receipt add` entered (no user)
    code, _lines = _run(
        "add", "--union", "WA", "--year", "2026", "--amount", "60.00", "--date", "2026-01-10"
    )
    assert code == 0 and FeeReceipt.objects.get().entered_by is None
    # Then the fee page lists it, entered by the platform
    response = login(finance).get(reverse("web:fee_statements") + "?year=2026")
    assert response.status_code == 200
    assert re.search(r"<td>平台</td>", response.content.decode())
