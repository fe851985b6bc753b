"""Finance pages: a batch end to end through the real views."""

import io
import re

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from huzhu.claims.models import ClaimStatus
from huzhu.payments import bankfile
from huzhu.payments.models import BatchState, PaymentBatch
from huzhu.payments.services import batch_bank_rows
from tests.payments.conftest import approved_claim, enrolled_member, recovery

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance_client(client, pworld):
    client.force_login(pworld.finance)
    return client


def test_union_operator_cannot_open_finance_pages(client, pworld):
    client.force_login(pworld.operator)
    assert client.get(reverse("web:payment_queue")).status_code == 403
    assert client.post(reverse("web:payment_batch_create")).status_code == 403
    client.logout()
    response = client.get(reverse("web:payment_queue"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_finance_runs_a_batch_end_to_end(finance_client, pworld):
    a = enrolled_member(pworld.w1, pworld.year, name="页面甲")
    b = enrolled_member(pworld.w2, pworld.year, name="页面乙")
    nocard = enrolled_member(pworld.w1, pworld.year, name="页面无卡", account="")
    ca = approved_claim(a, pworld.year, 150000)
    cb = approved_claim(b, pworld.year, 2000)
    approved_claim(nocard, pworld.year, 3000)
    recovery(a, ca, 10000)

    # Given the queue shows the payable claims
    page = finance_client.get(reverse("web:payment_queue"))
    assert page.status_code == 200
    html = page.content.decode()
    assert ca.number in html and cb.number in html and "代发" in html

    # When finance makes a batch from it
    response = finance_client.post(reverse("web:payment_batch_create"), {"payee_kind": "member"})
    batch = PaymentBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("web:payment_batch", args=[batch.pk])
    html = finance_client.get(response["Location"]).content.decode()
    assert batch.number in html
    assert "页面无卡" in html and "未登记银行账号" in html  # left out, with the reason
    assert "1,420.00" in html  # 1,500.00 − 100.00 recovery netted, + 20.00
    assert "100.00" in html

    # The bank file downloads as a real workbook with the accounts in full
    response = finance_client.get(reverse("web:payment_batch_export", args=[batch.pk, "xlsx"]))
    assert response.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.values)
    assert rows[0] == bankfile.COLUMNS
    assert a.bank_account in {r[2] for r in rows}
    assert response["X-Checksum-SHA256"] == bankfile.checksum(response.content)

    finance_client.post(reverse("web:payment_batch_mark_sent", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.state == BatchState.SENT

    # A mismatched return file is refused with the row-by-row report
    good = bankfile.write_return_file(batch_bank_rows(batch), {2: (False, "卡号不存在")})
    bad = good.decode("utf-8-sig").replace("1400.00", "1400.10").encode()
    response = finance_client.post(
        reverse("web:payment_batch_return", args=[batch.pk]),
        {"file": SimpleUploadedFile("回盘.csv", bad)},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "未做任何处理" in html and "金额与批次不符" in html
    batch.refresh_from_db()
    assert batch.state == BatchState.SENT

    # The right one is applied
    response = finance_client.post(
        reverse("web:payment_batch_return", args=[batch.pk]),
        {"file": SimpleUploadedFile("回盘.csv", good), "paid_on": "2026-11-26"},
    )
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.state == BatchState.SETTLED
    ca.refresh_from_db()
    cb.refresh_from_db()
    paid = {c.status for c in (ca, cb)}
    assert paid == {ClaimStatus.PAID, ClaimStatus.APPROVED}

    summary = finance_client.get(reverse("web:payment_batch_summary", args=[batch.pk]))
    html = summary.content.decode()
    assert summary.status_code == 200
    assert "代发汇总表" in html and "财务负责人" in html and batch.file_checksum in html

    adjustments = finance_client.get(reverse("web:payment_adjustments") + "?status=")
    assert adjustments.status_code == 200
    assert "冲正追回" in adjustments.content.decode()


def test_cancel_from_the_batch_page(finance_client, pworld):
    a = enrolled_member(pworld.w1, pworld.year)
    approved_claim(a, pworld.year, 1000)
    finance_client.post(reverse("web:payment_batch_create"), {"payee_kind": "member"})
    batch = PaymentBatch.objects.get()
    finance_client.post(reverse("web:payment_batch_cancel", args=[batch.pk]), {"reason": "重做"})
    batch.refresh_from_db()
    assert batch.state == BatchState.CANCELLED
    html = finance_client.get(reverse("web:payment_queue")).content.decode()
    assert "没有待发放的申请" not in html


def test_nothing_to_pay_shows_a_message(finance_client, pworld):
    response = finance_client.post(
        reverse("web:payment_batch_create"), {"payee_kind": "member"}, follow=True
    )
    assert "没有符合条件" in response.content.decode()
    assert not PaymentBatch.objects.exists()


def test_after_a_failed_row_pages_show_sent_paid_and_failed_apart(finance_client, pworld):
    # Given a batch of 10,250.00 + 10,000.00 sent, and the bank refused the 10,000.00 row
    a = enrolled_member(pworld.w1, pworld.year, name="发放甲")
    b = enrolled_member(pworld.w1, pworld.year, name="发放乙")
    approved_claim(a, pworld.year, 1_025_000)
    approved_claim(b, pworld.year, 1_000_000)
    finance_client.post(reverse("web:payment_batch_create"), {"payee_kind": "member"})
    batch = PaymentBatch.objects.get()
    finance_client.get(reverse("web:payment_batch_export", args=[batch.pk, "xlsx"]))
    finance_client.post(reverse("web:payment_batch_mark_sent", args=[batch.pk]))
    rows = batch_bank_rows(batch)
    failing = next(r.seq for r in rows if r.amount_fen == 1_000_000)
    returned = bankfile.write_return_file(rows, {failing: (False, "账户已销户")})
    finance_client.post(
        reverse("web:payment_batch_return", args=[batch.pk]),
        {"file": SimpleUploadedFile("回盘.csv", returned), "paid_on": "2026-11-26"},
    )
    # Then the batch page, the list and the printed summary say what was paid and what failed
    for name in ("web:payment_batch", "web:payment_batch_summary"):
        html = finance_client.get(reverse(name, args=[batch.pk])).content.decode()
        assert "实付合计" not in html
        assert re.search(r"发送银行合计（元）</[^>]+>\s*<[^>]+>20,250\.00<", html)
        assert re.search(r"已发放（元）</[^>]+>\s*<[^>]+>(<strong>)?10,250\.00[<（]", html)
        assert re.search(r"发放失败（元）</[^>]+>\s*<[^>]+>10,000\.00[<（]", html)
    html = finance_client.get(reverse("web:payment_batches")).content.decode()
    assert "10,250.00" in html and "10,000.00" in html and "20,250.00" in html


def test_a_batch_made_from_the_command_line_shows_on_the_pages(finance_client, pworld):
    # Given a batch made by `huzhu payment-batch create` (no user)
    from huzhu.payments.selectors import QueueFilters
    from huzhu.payments.services import (
        payment_batch_create,
        payment_batch_export,
        payment_batch_mark_sent,
    )

    a = enrolled_member(pworld.w1, pworld.year)
    approved_claim(a, pworld.year, 1000)
    batch = payment_batch_create(acting_user=None, filters=QueueFilters(payee_kind="member")).batch
    # ... exported and marked sent from the command line too
    payment_batch_export(batch=batch, file_format="xlsx", acting_user=None)
    payment_batch_mark_sent(batch=batch, acting_user=None)
    # Then the batch list and the batch page show it, made and sent by the platform
    for url in (reverse("web:payment_batches"), reverse("web:payment_batch", args=[batch.pk])):
        response = finance_client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert batch.number in html and "平台" in html
