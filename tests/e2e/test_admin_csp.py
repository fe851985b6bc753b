"""The admins under their Content-Security-Policy, in Chromium: Wagtail's dashboard, page
editor (with its preview panel and publishing settings) and Django's admin load without a
single CSP violation or script error (huzhu/settings.py HUZHU_ADMIN_CSP)."""

import time

import pytest
from playwright.sync_api import expect

from huzhu.organizations.models import Role
from tests.factories import UserFactory

PASSWORD = "pw-123456"  # tests.factories.UserFactory


@pytest.fixture
def portal(live_server):
    from tests.portal.conftest import build_demo_portal

    build_demo_portal()


@pytest.mark.django_db(transaction=True)
def test_wagtail_editor_and_django_admin_load_without_csp_errors(browser, live_server, portal):
    from wagtail.models import Page

    UserFactory(username="root", role=Role.ADMIN, is_superuser=True, is_staff=True)
    article = Page.objects.filter(depth__gte=4).order_by("id").first()
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if (m.type == "error" and not m.text.startswith("Failed to load resource"))
            or "Content Security Policy" in m.text
            else None
        ),
    )
    # Failed loads are listed by address (the browser's own /favicon.ico request aside).
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    page.goto("/staff/login/")
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url("**/staff/")

    seen = {}
    for url in [
        "/cms/",
        "/cms/pages/",
        f"/cms/pages/{article.pk}/edit/",
        "/django-admin/",
        "/django-admin/auth/group/add/",
    ]:
        response = page.goto(url)
        page.wait_for_load_state("networkidle")
        seen[url] = response.headers.get("content-security-policy", "")
        if "/edit/" in url:
            page.locator("[data-side-panel-toggle='preview']").first.click()
            frame = page.frame_locator("#w-preview-iframe")
            # the page's preview renders in its frame
            expect(frame.locator("footer").first).to_contain_text("嵊州市总工会")
            time.sleep(1)
    assert all(seen.values()), seen  # every admin page carries a policy
    assert "'unsafe-inline'" not in seen["/django-admin/"].split("script-src")[1].split(";")[0]
    assert problems == []
    context.close()
