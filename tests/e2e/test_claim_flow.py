"""The whole manual-claim flow in a real browser, with a screenshot of each step.

A member on a 360×740 phone logs in with an SMS code (read from the test SMS backend), binds
their account, files a claim with photos (the invoice's QR code pre-fills the form), and
sees the timeline; the union operator passes the first review and the federation reviewer
approves it with the engine's amount; the member then sees it approved, with the
explanation. Screenshots go to tests/e2e/screenshots/claim-*.png.
"""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from huzhu.members.sms import MemorySmsBackend
from huzhu.organizations.models import Role, UnionKind
from huzhu.plans.services import plan_load
from tests.factories import EnrollmentFactory, MemberFactory, UnionFactory, UserFactory
from tests.member_pages.conftest import PLAN_2026
from tests.member_pages.images import PDF_BYTES, jpeg_bytes

PHONE = "13912345678"
PASSWORD = "pw-123456"  # tests.factories.UserFactory


@pytest.fixture
def world(transactional_db, settings, tmp_path):
    from django.utils import timezone

    settings.HUZHU_SMS_BACKEND = "huzhu.members.sms.MemorySmsBackend"
    settings.HUZHU_DOCUMENT_DIR = tmp_path / "documents"
    MemorySmsBackend.outbox.clear()
    today = timezone.localdate()
    discharge = today - timedelta(days=3)
    admit = discharge - timedelta(days=7)
    year = discharge.year
    plan_load(source_text=PLAN_2026.replace("2026", str(year)), source_name="plan.yaml")
    from huzhu.enrollment.models import SchemeYear
    from tests.factories import SchemeYearFactory

    fed = UnionFactory(code="F0", name="嵊州市总工会", kind=UnionKind.FEDERATION)
    union = UnionFactory(code="W1", name="嵊州市人民医院工会", parent=fed)
    member = MemberFactory(union=union, name="王芳", phone=PHONE)
    # A renewal: covered from 1 January, no waiting period.
    EnrollmentFactory(member=member, scheme_year=SchemeYearFactory(year=year - 1))
    EnrollmentFactory(member=member, scheme_year=SchemeYear.objects.get(year=year))
    # The consent text the first binding asks for (a transactional test's flush removed the
    # migration's version 1).
    from huzhu.enrollment.models import ConsentText

    if not ConsentText.objects.exists():
        ConsentText.objects.create(version=1, body="测试用同意书正文", published_at=timezone.now())
    return {
        "member": member,
        "operator": UserFactory(
            username="operator", role=Role.UNION_OPERATOR, union=union, first_name="经办人"
        ),
        "reviewer": UserFactory(
            username="reviewer", role=Role.FEDERATION_REVIEWER, union=fed, first_name="审核员"
        ),
        "admit": admit,
        "discharge": discharge,
    }


def _shot(page, directory, name):
    page.screenshot(path=str(directory / f"claim-{name}.png"), full_page=True)


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1"
    )


def _staff_login(browser, base_url, username):
    context = browser.new_context(
        base_url=base_url, viewport={"width": 1280, "height": 900}, locale="zh-CN"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/staff/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/**")
    return context, page


def test_member_claims_and_staff_approve(
    browser, browser_page, live_server, world, screenshot_dir, tmp_path
):
    page = browser_page
    page.set_viewport_size({"width": 360, "height": 740})
    member = world["member"]

    # 1. Log in with an SMS code; the first login binds the phone by name + ID number.
    page.goto("/m/")
    page.wait_for_url("**/m/login/**")
    page.fill("#phone", PHONE)
    page.click("#send-code")
    assert page.locator("#code-sent").is_visible()
    code = MemorySmsBackend.last_code(PHONE)
    page.fill("#code", code)
    _shot(page, screenshot_dir, "01-login")
    page.press("#code", "Enter")  # Enter in the code field logs in (not "send again")
    page.wait_for_url("**/m/bind/")
    page.fill("#name", "王芳")
    page.fill("#id_number", member.id_number)
    _shot(page, screenshot_dir, "02-bind")
    page.click("#bind")
    # The first binding shows the consent text; accepting it leads home.
    page.wait_for_url("**/m/consent/**")
    assert page.locator("#consent-text").is_visible()
    assert _no_horizontal_scroll(page)
    _shot(page, screenshot_dir, "02b-consent")
    page.click("#consent-accept")
    page.wait_for_url("**/m/")
    assert page.get_by_text("王芳，您好").is_visible()
    assert _no_horizontal_scroll(page)
    _shot(page, screenshot_dir, "03-home")

    # 2. Coverage, generated from the plan.
    page.click("#menu-coverage")
    assert page.get_by_text("封顶线：每年最高30,000.00元。").is_visible()
    assert _no_horizontal_scroll(page)
    _shot(page, screenshot_dir, "04-coverage")

    # 3. A new claim with photos; the invoice's QR code fills number and amount.
    page.goto("/m/")
    page.click("#menu-new-claim")
    invoice = tmp_path / "invoice.jpg"
    qr = f"01,10,033002100111,20261234,15000.00,{world['discharge']:%Y%m%d},0,A"
    invoice.write_bytes(jpeg_bytes((1600, 1200), qr_text=qr))
    sheet = tmp_path / "settlement.jpg"
    sheet.write_bytes(jpeg_bytes((3000, 4000)))  # a phone photo, downscaled on the server
    summary = tmp_path / "summary.pdf"
    summary.write_bytes(PDF_BYTES)
    page.set_input_files("#file_invoice", str(invoice))
    # (expect, not wait_for_function: a string predicate is eval'd, which the page's
    # Content-Security-Policy forbids)
    expect(page.locator("#invoice_number")).to_have_value("20261234")
    assert page.input_value("#total_cost") == "15000.00"
    page.set_input_files("#file_settlement_sheet", str(sheet))
    page.set_input_files("#file_discharge_summary", str(summary))
    page.fill("#hospital_name", "嵊州市人民医院")
    page.fill("#admit_date", world["admit"].isoformat())
    page.fill("#discharge_date", world["discharge"].isoformat())
    page.fill("#fund_paid", "9000.00")
    page.fill("#self_pay_in_policy", "3000.00")
    page.fill("#self_pay_out_policy", "3000.00")
    # No account on file yet: the card (in the member's own name) and its photo.
    card = tmp_path / "card.png"
    card.write_bytes(jpeg_bytes((1200, 760), color=(20, 60, 140)))
    page.set_input_files("#file_bank_card", str(card))
    page.fill("#bank_name", "中国农业银行嵊州支行")
    page.fill("#bank_account", "6228 4800 1234 5678 901")
    assert _no_horizontal_scroll(page)
    _shot(page, screenshot_dir, "05-new-claim")
    page.click("#submit-claim")
    page.wait_for_url(re.compile(r".*/m/claims/\d+/$"))
    assert page.locator("#claim-status").inner_text() == "已提交"
    assert page.locator("#timeline li").count() == 1
    number = page.locator("dl.kv dd").first.inner_text()
    _shot(page, screenshot_dir, "06-submitted")

    # 4. The union operator's first review.
    base = live_server.url
    context, staff = _staff_login(browser, base, "operator")
    staff.goto("/staff/claims/review/")
    assert staff.locator("#review-queue").get_by_text(number).is_visible()
    _shot(staff, screenshot_dir, "07-union-queue")
    staff.get_by_role("link", name=number).click()
    staff.click("#union-review")
    staff.wait_for_url("**/staff/claims/review/")
    assert staff.get_by_text(f"申请{number}已通过初审").is_visible()
    context.close()

    # 5. The federation reviewer approves with the engine's amount.
    context, staff = _staff_login(browser, base, "reviewer")
    staff.goto("/staff/claims/review/")
    staff.get_by_role("link", name=number).click()
    preview = staff.locator("#engine-preview")
    assert "1,250.00元" in preview.inner_text()  # 3,000.00 - 500.00 deductible, at 50%
    _shot(staff, screenshot_dir, "08-federation-review")
    staff.click("#approve")
    staff.wait_for_url("**/staff/claims/review/")
    assert staff.get_by_text(f"申请{number}已核准").is_visible()
    context.close()

    # 6. The member sees it approved, with the explanation and the whole timeline.
    page.goto("/m/claims/")
    page.get_by_text(number).click()
    assert page.locator("#claim-status").inner_text() == "已核准"
    assert page.locator("#amount .amount").inner_text() == "1,250.00元"
    explanation = page.locator("#explanation").inner_text()
    from huzhu.claims.models import Claim

    assert explanation.strip() == Claim.objects.get(number=number).explanation.strip()
    assert "起付线" in explanation and "500.00元" in explanation
    steps = page.locator("#timeline li strong").all_inner_texts()
    assert steps == ["已提交", "工会已初审", "已核准"]
    assert _no_horizontal_scroll(page)
    _shot(page, screenshot_dir, "09-approved")
