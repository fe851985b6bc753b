"""The CMS in Chinese, two notices with one title, attachments with kind and size, and the
breadcrumb of section pages."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from wagtail.documents.models import Document
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from huzhu.organizations.demo import DEMO_PASSWORD
from huzhu.portal.models import ArticlePage, SectionPage
from tests.portal.conftest import page_text

pytestmark = pytest.mark.django_db


def _add_notice(client, section, title, *, subtitle="", autosave=False):
    """Create a notice through the real admin form, as the browser posts it (the autosave
    posts the same form asking for JSON)."""
    url = reverse("wagtailadmin_pages:add", args=["portal", "articlepage", section.pk])
    data = {
        "title": title,
        "slug": "guanyu-tongzhi",  # what the admin's script derives from the same title
        "subtitle": subtitle,
        "source": "市总工会",
        **nested_form_data({"body": streamfield([("paragraph", rich_text("<p>正文</p>"))])}),
        **nested_form_data({"attachments": streamfield([])}),
        "comment_notifications": "",
    }
    if autosave:
        return client.post(url, data, HTTP_ACCEPT="application/json")
    return client.post(url, data)


def test_two_notices_with_the_same_title_both_save(client, portal):
    assert client.login(username="admin", password=DEMO_PASSWORD)
    section = SectionPage.objects.get(slug="tzgg")
    title = "关于开展职工医疗互助工作的通知"
    first = _add_notice(client, section, title)
    second = _add_notice(client, section, title)
    assert first.status_code == 302 and second.status_code == 302, second.content[:3000]
    slugs = sorted(ArticlePage.objects.filter(title=title).values_list("slug", flat=True))
    assert slugs == ["guanyu-tongzhi", "guanyu-tongzhi-2"]


def test_the_admin_speaks_chinese(client, portal):
    assert client.login(username="admin", password=DEMO_PASSWORD)
    home = client.get(reverse("wagtailadmin_home")).content.decode()
    for english in ("Search all pages", "editor guide", "Pages <span"):
        assert english not in home, english
    assert "搜索所有页面" in home
    section = SectionPage.objects.get(slug="tzgg")
    listing = client.get(reverse("wagtailadmin_explore", args=[section.pk])).content.decode()
    assert "文章s" not in listing


def test_attachments_show_kind_and_size(client, portal):
    notice = ArticlePage.objects.child_of(SectionPage.objects.get(slug="tzgg")).first()
    pdf = Document(title="申请表")
    pdf.file.save("申请表.pdf", ContentFile(b"%PDF-1.4\n" + b"x" * 2038), save=True)
    sheet = Document(title="汇总表")
    sheet.file.save("hz.xlsx", ContentFile(b"PK" + b"y" * 5118), save=True)
    notice.attachments = [
        ("attachment", {"document": pdf, "label": ""}),
        ("attachment", {"document": sheet, "label": "2026年度参保汇总表"}),
    ]
    notice.save_revision().publish()
    text = page_text(client.get(notice.url))
    assert "附件" in text
    assert "申请表（PDF，2.0 KB）" in text.replace("\xa0", " ")
    assert "2026年度参保汇总表（Excel，5.0 KB）" in text.replace("\xa0", " ")


@pytest.mark.parametrize(
    ("url", "trail"),
    [
        ("/xxgk/", "当前位置: 首页 > 信息公开"),
        ("/xxgk/tzgg/", "当前位置: 首页 > 信息公开 > 通知公告"),
    ],
)
def test_section_pages_have_their_breadcrumb(client, portal, url, trail):
    assert trail in page_text(client.get(url))


def test_the_service_guide_names_itself_in_the_breadcrumb(client, portal):
    from huzhu.portal.models import ServiceGuidePage

    guide = ServiceGuidePage.objects.get()
    text = page_text(client.get(guide.url))
    assert f"当前位置: 首页 > {guide.title}" in text


def test_the_user_list_says_yes_not_true(client, portal):
    import re

    assert client.login(username="admin", password=DEMO_PASSWORD)
    html = client.get(reverse("wagtailusers_users:index")).content.decode()
    assert not re.search(r'w-sr-only">\s*(True|False)\s*<', html)
    assert re.search(r'w-sr-only">\s*是\s*<', html)


def _wagtail_js_msgids() -> list[str]:
    """The admin JavaScript's strings, from the English catalogue Wagtail ships."""
    import re
    from pathlib import Path

    import wagtail

    po = Path(wagtail.__file__).parent / "admin/locale/en/LC_MESSAGES/djangojs.po"
    ids = re.findall(r'^msgid "(.+)"$', po.read_text(encoding="utf-8"), flags=re.M)
    assert len(ids) > 50
    return ids


def test_the_admin_javascript_speaks_chinese(client, portal):
    """Wagtail 8.0.1 ships 20 of its admin JavaScript strings untranslated for zh_Hans
    (autosave, block editor, readability); ours fill them in."""
    import json
    import re

    assert client.login(username="admin", password=DEMO_PASSWORD)
    body = client.get(reverse("wagtailadmin_javascript_catalog")).content.decode()
    catalog = json.loads(re.search(r"const newcatalog = (\{.*?\});\n", body, re.S)[1])
    assert catalog["Autosave in progress…"] == "正在自动保存…"
    assert catalog["Changes have been autosaved."] == "修改已自动保存。"
    missing = [m for m in _wagtail_js_msgids() if m not in catalog or catalog[m] in ("", m)]
    assert missing == []


def test_a_save_click_racing_the_autosave_of_a_new_page_saves_into_that_page(client, portal):
    """Wagtail 8 autosaves a page being created; a 保存草稿 click sent before the autosave's
    answer arrived still posts to the "new page" address. It made a 500 (the slug checked a
    moment before had just been taken) or a second draft; now it is saved into the page the
    autosave made."""
    assert client.login(username="admin", password=DEMO_PASSWORD)
    section = SectionPage.objects.get(slug="tzgg")
    title = "关于职工医疗互助年度结算的通知"
    autosaved = _add_notice(client, section, title, subtitle="草稿", autosave=True)
    assert autosaved.status_code == 200 and autosaved.json()["success"], autosaved.content[:500]
    clicked = _add_notice(client, section, title, subtitle="草稿（点击保存时）")
    assert clicked.status_code == 302, clicked.content[:3000]
    pages = ArticlePage.objects.filter(title=title)
    assert pages.count() == 1
    page = pages.get()
    assert page.pk == autosaved.json()["pk"]
    assert page.get_latest_revision_as_object().subtitle == "草稿（点击保存时）"


def test_an_autosave_arriving_after_the_save_click_made_the_page_writes_nothing(client, portal):
    assert client.login(username="admin", password=DEMO_PASSWORD)
    section = SectionPage.objects.get(slug="tzgg")
    title = "关于职工医疗互助年度结算的通知"
    assert _add_notice(client, section, title, subtitle="保存的").status_code == 302
    late = _add_notice(client, section, title, subtitle="自动保存的", autosave=True)
    assert late.status_code == 400
    assert late.json()["error_code"] == "invalid_revision"
    page = ArticlePage.objects.get(title=title)
    assert page.get_latest_revision_as_object().subtitle == "保存的"


@pytest.mark.django_db(transaction=True)
def test_autosave_and_save_sent_at_once_make_one_page_and_no_error(settings):
    """The race itself, two requests at once (PostgreSQL: SQLite's in-memory test database
    is not shared between threads)."""
    import threading

    from django.db import connection
    from django.test import Client

    from tests.portal.conftest import build_demo_portal

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: two requests at once on one database")
    build_demo_portal()
    section = SectionPage.objects.get(slug="tzgg")
    title = "关于职工医疗互助年度结算的通知"
    statuses = []

    def post(autosave):
        c = Client()
        assert c.login(username="admin", password=DEMO_PASSWORD)
        statuses.append(_add_notice(c, section, title, autosave=autosave).status_code)
        connection.close()

    for _ in range(3):
        threads = [threading.Thread(target=post, args=(a,)) for a in (True, False)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert ArticlePage.objects.filter(title=title).count() == 1
        ArticlePage.objects.filter(title=title).delete()
    assert 500 not in statuses and len(statuses) == 6
