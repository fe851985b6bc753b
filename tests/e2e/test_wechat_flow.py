"""From WeChat to an approved claim's template message, in a real browser against the local
fake WeChat server (huzhu/fakes/wechat.py).

A follower opens the member pages "as from WeChat": the fake's authorization page sends the
browser back with a code; the openid is unknown, so the member binds by SMS code + name + ID
number and the openid is stored; they file a claim; the union operator and the federation
reviewer pass it; the fake WeChat receives the `approved` template message with the claim's
fields, and its link opens the claim page logged in through OAuth. Screenshots:
tests/e2e/screenshots/wechat-*.png.
"""

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from huzhu.members.sms import MemorySmsBackend
from huzhu.wechat.models import WeChatBinding
from tests.e2e.test_claim_flow import PHONE, _staff_login, world  # noqa: F401 - fixture
from tests.member_pages.images import PDF_BYTES, jpeg_bytes

OPENID = "o_e2e_follower_01"


def _shot(page, directory, name):
    page.screenshot(path=str(directory / f"wechat-{name}.png"), full_page=True)


def _as_from_wechat(browser, base_url, fake, next_path):
    """A phone browser "inside WeChat": the fake knows it as OPENID."""
    context = browser.new_context(
        base_url=base_url, viewport={"width": 360, "height": 740}, locale="zh-CN"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    entry = f"{base_url}/m/wechat/?next={quote(next_path)}"
    page.goto(f"{fake.url}/_fake/open?openid={OPENID}&next={quote(entry, safe='')}")
    return context, page


@pytest.mark.django_db(transaction=True)
def test_wechat_oauth_binding_claim_and_template_message(
    browser,
    live_server,
    world,  # noqa: F811 - the fixture imported above
    fake_wechat,
    settings,
    screenshot_dir,
    tmp_path,  # noqa: F811
):
    settings.HUZHU_BASE_URL = live_server.url
    member = world["member"]
    member.bank_name = "中国农业银行嵊州支行"
    member.bank_account = "6228480012345678901"
    member.save()
    base = live_server.url

    # 1. From the account's menu: OAuth at the fake, then an unknown openid → today's login.
    context, page = _as_from_wechat(browser, base, fake_wechat, "/m/claims/new/")
    page.wait_for_url("**/m/login/**")
    assert page.get_by_text("首次从微信进入").is_visible()
    page.fill("#phone", PHONE)
    page.click("#send-code")
    page.fill("#code", MemorySmsBackend.last_code(PHONE))
    _shot(page, screenshot_dir, "01-login")
    page.press("#code", "Enter")
    page.wait_for_url("**/m/bind/")
    page.fill("#name", "王芳")
    page.fill("#id_number", member.id_number)
    page.click("#bind")
    page.wait_for_url("**/m/consent/**")  # the first binding asks for the consent text
    assert page.get_by_text("已绑定本微信").is_visible()
    page.click("#consent-accept")
    page.wait_for_url("**/m/")
    assert page.locator("#wechat-binding").is_visible()
    _shot(page, screenshot_dir, "02-bound")
    binding = WeChatBinding.objects.get()
    assert (binding.member_id, binding.openid) == (member.pk, OPENID)

    # 2. A claim with its papers.
    page.goto("/m/claims/new/")
    invoice = tmp_path / "invoice.jpg"
    qr = f"01,10,033002100111,20269999,15000.00,{world['discharge']:%Y%m%d},0,A"
    invoice.write_bytes(jpeg_bytes((1200, 900), qr_text=qr))
    sheet = tmp_path / "sheet.jpg"
    sheet.write_bytes(jpeg_bytes((1200, 900)))
    summary = tmp_path / "summary.pdf"
    summary.write_bytes(PDF_BYTES)
    page.set_input_files("#file_invoice", str(invoice))
    expect(page.locator("#invoice_number")).to_have_value("20269999")  # (CSP: no eval)
    page.set_input_files("#file_settlement_sheet", str(sheet))
    page.set_input_files("#file_discharge_summary", str(summary))
    page.fill("#hospital_name", "嵊州市人民医院")
    page.fill("#admit_date", world["admit"].isoformat())
    page.fill("#discharge_date", world["discharge"].isoformat())
    page.fill("#fund_paid", "9000.00")
    page.fill("#self_pay_in_policy", "3000.00")
    page.fill("#self_pay_out_policy", "3000.00")
    page.click("#submit-claim")
    page.wait_for_url(re.compile(r".*/m/claims/\d+/$"))
    claim_path = re.sub(r"^https?://[^/]+", "", page.url)
    number = page.locator("dl.kv dd").first.inner_text()
    context.close()
    assert fake_wechat.messages == []  # the member's own step: no template message

    # 3. The union's first review and the federation's approval.
    staff_context, staff = _staff_login(browser, base, "operator")
    staff.goto("/staff/claims/review/")
    staff.get_by_role("link", name=number).click()
    staff.click("#union-review")
    staff.wait_for_url("**/staff/claims/review/")
    staff_context.close()
    staff_context, staff = _staff_login(browser, base, "reviewer")
    staff.goto("/staff/claims/review/")
    staff.get_by_role("link", name=number).click()
    staff.click("#approve")
    staff.wait_for_url("**/staff/claims/review/")
    staff_context.close()

    # 4. The fake WeChat received the approval as a template message with the claim's fields.
    [message] = fake_wechat.messages
    assert message["touser"] == OPENID
    assert message["template_id"] == "tpl_approved"
    data = {k: v["value"] for k, v in message["data"].items()}
    assert data["character_string1"] == number
    assert data["thing2"] == "住院医疗互助"
    assert data["amount3"] == "1250.00元"  # 3,000.00 - 500.00 deductible, at 50%
    assert data["phrase4"] == "审核通过"
    assert message["url"] == f"{base}/m/wechat/?next={claim_path}"

    # 5. Its link opens the claim page, logged in through OAuth (no code typed again).
    context, page = _as_from_wechat(browser, base, fake_wechat, claim_path)
    page.goto(message["url"])
    # (The browser keeps WeChat's "#wechat_redirect" fragment through the redirects.)
    assert page.url.split("#")[0] == base + claim_path
    assert page.locator("#claim-status").inner_text() == "已核准"
    _shot(page, screenshot_dir, "03-claim-from-message")
    context.close()
