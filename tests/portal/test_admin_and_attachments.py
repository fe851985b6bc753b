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


def _add_notice(client, section, title):
    """Create a notice through the real admin form, as the browser posts it."""
    url = reverse("wagtailadmin_pages:add", args=["portal", "articlepage", section.pk])
    data = {
        "title": title,
        "slug": "guanyu-tongzhi",  # what the admin's script derives from the same title
        "subtitle": "",
        "source": "市总工会",
        **nested_form_data({"body": streamfield([("paragraph", rich_text("<p>正文</p>"))])}),
        **nested_form_data({"attachments": streamfield([])}),
        "comment_notifications": "",
    }
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
