"""A finance user runs a payment batch end to end in a real browser (Playwright + Chromium).

Log in, see the queue, make the batch, download the bank file, mark it sent, upload a return
file that does not match (the row-by-row report shows, nothing applied), upload the right one
(claims paid, the failure back in the queue), open the summary for signing.
Screenshots go to tests/payments/screenshots/.
"""

import io
from pathlib import Path

import openpyxl
import pytest

from huzhu.claims.models import ClaimStatus
from huzhu.organizations.models import Role
from huzhu.payments import bankfile
from huzhu.payments.models import BatchState, PaymentBatch
from huzhu.payments.services import batch_bank_rows
from tests.factories import UserFactory
from tests.payments.conftest import approved_claim, build_world, enrolled_member

pytestmark = pytest.mark.e2e
SHOTS = Path(__file__).resolve().parent / "screenshots"


def test_finance_runs_a_batch_in_the_browser(browser, live_server, transactional_db, tmp_path):
    world = build_world()
    UserFactory(
        username="cashier", role=Role.FEDERATION_FINANCE, union=world.fed, first_name="财务"
    )
    a = enrolled_member(world.w1, world.year, name="浏览器甲")
    b = enrolled_member(world.w2, world.year, name="浏览器乙")
    nocard = enrolled_member(world.w1, world.year, name="浏览器无卡", account="")
    ca = approved_claim(a, world.year, 123456)
    cb = approved_claim(b, world.year, 50000)
    approved_claim(nocard, world.year, 800)
    SHOTS.mkdir(exist_ok=True)

    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto("/staff/login/")
        page.fill("input[name=username]", "cashier")
        page.fill("input[name=password]", "pw-123456")
        page.click("button[type=submit]")
        page.click("header a:text-is('代发')")
        assert ca.number in page.content() and cb.number in page.content()
        page.screenshot(path=str(SHOTS / "payments-1-queue.png"))

        page.click("button:has-text('生成代发批次')")
        page.wait_for_url("**/staff/payments/batches/*/")
        batch = PaymentBatch.objects.get()
        assert batch.number in page.content()
        assert "浏览器无卡" in page.content() and "未登记银行账号" in page.content()
        page.screenshot(path=str(SHOTS / "payments-2-batch.png"), full_page=True)

        with page.expect_download() as download:
            page.click("button:has-text('导出银行文件 .xlsx')")
        saved = tmp_path / "bank.xlsx"
        download.value.save_as(saved)
        sheet = openpyxl.load_workbook(io.BytesIO(saved.read_bytes())).active
        assert a.bank_account in {row[2] for row in sheet.values}

        page.goto(f"/staff/payments/batches/{batch.pk}/")
        page.click("button:has-text('标记为已发送银行')")
        page.wait_for_selector("text=已标记为已发送银行")
        batch.refresh_from_db()
        assert batch.state == BatchState.SENT

        rows = batch_bank_rows(batch)
        seq_b = next(r.seq for r in rows if r.name == "浏览器乙")
        good = bankfile.write_return_file(rows, {seq_b: (False, "账户已冻结")})
        bad = tmp_path / "bad.csv"
        bad.write_bytes(good.decode("utf-8-sig").replace("1234.56", "1234.65").encode())
        page.set_input_files("input[name=file]", str(bad))
        page.click("button:has-text('导入回盘')")
        page.wait_for_selector("text=未做任何处理")
        assert "金额与批次不符" in page.content()
        page.screenshot(path=str(SHOTS / "payments-3-mismatch.png"), full_page=True)
        ca.refresh_from_db()
        assert ca.status == ClaimStatus.APPROVED

        right = tmp_path / "return.csv"
        right.write_bytes(good)
        page.set_input_files("input[name=file]", str(right))
        page.click("button:has-text('导入回盘')")
        page.wait_for_selector("text=回盘已导入")
        page.screenshot(path=str(SHOTS / "payments-4-settled.png"), full_page=True)
        ca.refresh_from_db()
        cb.refresh_from_db()
        assert ca.status == ClaimStatus.PAID
        assert cb.status == ClaimStatus.APPROVED and "账户已冻结" in cb.payment_failure_reason

        page.click("a:has-text('打印代发汇总表')")
        page.wait_for_selector("text=代发汇总表")
        assert "财务负责人" in page.content()
        page.screenshot(path=str(SHOTS / "payments-5-summary.png"), full_page=True)
    finally:
        context.close()
