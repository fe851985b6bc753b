"""The portal in a real browser at phone (360px) and desktop (1280px) width, with screenshots."""

import pytest

SPEECH_URL = "/xxgk/ldjh/2019-10-25-wangjuncan-dangke/"
WIDTHS = {"phone": (360, 780), "desktop": (1280, 900)}


@pytest.fixture
def portal(live_server):
    # The live server reads committed data: the tests are transactional.
    from tests.portal.conftest import build_demo_portal

    build_demo_portal()


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1"
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", list(WIDTHS))
def test_home_page_screens(browser_page, portal, screenshot_dir, size):
    page = browser_page
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[size], strict=True)))
    page.goto("/")
    entry = page.get_by_role("link", name="医疗互助 在线申请 / 查询").first
    assert entry.is_visible()
    assert entry.get_attribute("href") == "/m/"
    assert page.locator("svg.qr").first.is_visible()
    assert page.locator("svg.qr").first.bounding_box()["width"] >= 90
    assert page.get_by_text("通知公告").first.is_visible()
    assert page.get_by_text("嵊州市总工会门户网站改版上线的公告").is_visible()
    assert _no_horizontal_scroll(page)
    page.screenshot(path=str(screenshot_dir / f"portal-home-{size}.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", list(WIDTHS))
def test_article_screens(browser_page, portal, screenshot_dir, size):
    page = browser_page
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[size], strict=True)))
    page.goto(SPEECH_URL)
    assert page.locator("h1").inner_text() == "不忘初心,牢记使命 进一步提升新时期工会干部的综合素质"
    crumb = " ".join(page.locator("nav.crumb").inner_text().split())
    assert crumb == "当前位置: 首页 > 信息公开 > 领导讲话"
    meta = page.locator(".article-head").inner_text()
    assert "发布日期:2019-10-25 17:09:02" in meta and "阅读量:1" in meta
    assert page.locator(".article-body p").count() == 18
    assert " ".join(page.locator(".byline").inner_text().split()) == (
        "编辑:嵊州采编01 责任编辑:嵊州采编01"
    )
    footer = page.locator("footer").inner_text()
    assert "版权所有:嵊州市总工会" in footer and "浙ICP备14041666号" in footer
    # body text is readable: at least 15px on a phone, no sideways scrolling
    size_px = page.locator(".article-body p").first.evaluate(
        "el => parseFloat(getComputedStyle(el).fontSize)"
    )
    assert size_px >= 15
    assert _no_horizontal_scroll(page)
    page.screenshot(path=str(screenshot_dir / f"portal-article-{size}.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_editor_submits_and_chief_editor_publishes_in_the_admin(
    browser, live_server, portal, screenshot_dir
):
    """The Wagtail admin in a browser: 编辑 submits a notice, 责任编辑 approves, it goes live."""
    from wagtail.models import WorkflowState
    from wagtail.rich_text import RichText

    from huzhu.organizations.demo import DEMO_PASSWORD
    from huzhu.organizations.models import User
    from huzhu.portal.models import ArticlePage, SectionPage

    editor = User.objects.get(username="editor")
    notice = ArticlePage(
        title="关于2026年度医疗互助补助发放情况的通知",
        slug="payout-2026",
        body=[("paragraph", RichText("<p>本年度第一批补助已发放到职工本人银行卡。</p>"))],
        live=False,
        owner=editor,
    )
    SectionPage.objects.get(slug="tzgg").add_child(instance=notice)
    notice.save_revision(user=editor)

    def admin(username):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="zh-CN"
        )
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto("/cms/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", DEMO_PASSWORD)
        with page.expect_navigation():
            page.locator("form button[type=submit]").first.click()
        page.goto(f"/cms/pages/{notice.pk}/edit/")
        return context, page

    # 编辑: the publish action is not offered; submitting starts the workflow
    context, page = admin("editor")
    assert page.locator('button[name="action-publish"]').count() == 0
    with page.expect_navigation():
        page.locator('button[name="action-submit"]').evaluate("b => b.click()")
    context.close()
    state = WorkflowState.objects.for_instance(notice).get()
    assert state.status == WorkflowState.STATUS_IN_PROGRESS
    assert not ArticlePage.objects.get(pk=notice.pk).live

    # 责任编辑: approves in the editor's footer menu, which publishes the notice
    context, page = admin("chief")
    approve = page.locator(
        'button[data-workflow-action-name="approve"]:not([data-workflow-action-modal-url])'
    )
    with page.expect_navigation():
        approve.first.evaluate("b => b.click()")
    context.close()
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_APPROVED
    assert ArticlePage.objects.get(pk=notice.pk).live

    # the public page shows both names from the workflow record
    context = browser.new_context(base_url=live_server.url, viewport={"width": 360, "height": 780})
    page = context.new_page()
    page.goto("/xxgk/tzgg/payout-2026/")
    assert " ".join(page.locator(".byline").inner_text().split()) == (
        "编辑:网站编辑 责任编辑:嵊州采编01"
    )
    page.screenshot(
        path=str(screenshot_dir / "portal-workflow-published-phone.png"), full_page=True
    )
    context.close()
