"""The old site's article page becomes an ArticlePage with every part of the source."""

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from huzhu.portal.oldsite import OldSitePageError, old_site_page_parse

SOURCE = Path(__file__).resolve().parents[2] / "huzhu/portal/seed/leadership-speech-2019-10-25.txt"


def _source_lines():
    return [
        line.strip() for line in SOURCE.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def test_parse_reads_every_part_of_the_page():
    page = old_site_page_parse(SOURCE.read_text(encoding="utf-8"))
    lines = _source_lines()
    assert page.breadcrumb == ("首页", "信息公开", "领导讲话")
    assert page.title == "不忘初心,牢记使命 进一步提升新时期工会干部的综合素质"
    assert page.subtitle == "党组书记、常务副主席王均灿讲党课"
    assert page.published_at == dt.datetime(2019, 10, 25, 17, 9, 2)
    assert page.source == ""
    # the body is every line between 阅读量 and the by-line, in order
    body = lines[lines.index("阅读量:") + 1 : lines.index("编辑:嵊州采编01   责任编辑:嵊州采编01")]
    assert list(page.paragraphs) == body
    assert len(page.paragraphs) == 18
    assert page.paragraphs[0].startswith("按照市委“不忘初心·牢记使命”")
    assert page.paragraphs[-1].startswith("同志们,2019年已过去大半")
    assert (page.editor, page.chief_editor) == ("嵊州采编01", "嵊州采编01")
    assert page.copyright_holder == "嵊州市总工会"
    assert page.address == "嵊州市领带园一路401号"
    assert page.phone == "0575-83112057"
    assert page.icp_number == "浙ICP备14041666号"
    assert page.qr_caption == "嵊州市总工会官方二维码"


@pytest.mark.parametrize(
    "broken, message",
    [
        ("", "文件为空"),
        ("标题\n发布日期:2019-10-25 17:09:02\n", "找不到“当前位置”一行"),
        ("当前位置: 首页> 信息公开\n标题\n正文\n", "找不到“发布日期”一行"),
        (
            "当前位置: 首页> 信息公开\n标题\n发布日期:2019-10-25 17:09:02    来源:\n正文\n",
            "找不到“编辑/责任编辑”一行",
        ),
        ("当前位置: 信息公开\n标题\n发布日期:2019-10-25 17:09:02\n", "当前位置应以“首页”开头"),
    ],
)
def test_parse_refuses_a_page_it_cannot_read(broken, message):
    with pytest.raises(OldSitePageError) as exc:
        old_site_page_parse(broken)
    assert message in exc.value.message


def test_imported_article_keeps_source_fields(speech):
    assert speech.live
    assert speech.title == "不忘初心,牢记使命 进一步提升新时期工会干部的综合素质"
    assert speech.subtitle == "党组书记、常务副主席王均灿讲党课"
    assert timezone.localtime(speech.first_published_at).strftime("%Y-%m-%d %H:%M:%S") == (
        "2019-10-25 17:09:02"
    )
    assert [p.title for p in speech.get_ancestors().filter(depth__gte=3)] == [
        "信息公开",
        "领导讲话",
    ]
    parsed = old_site_page_parse(SOURCE.read_text(encoding="utf-8"))
    assert speech.body_text().split("\n") == list(parsed.paragraphs)
    assert (speech.bylines.editor, speech.bylines.chief_editor) == ("嵊州采编01", "嵊州采编01")


def test_demo_runs_twice_without_changing_anything(portal, speech):
    import io

    from wagtail.models import Page, Revision

    from huzhu.audit.models import AuditEvent
    from huzhu.portal import demo

    audited = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"portal.old_site_import", "portal.settings_from_old_site"} <= audited
    pages, revisions = Page.objects.count(), Revision.objects.count()
    events = AuditEvent.objects.count()
    demo.run(stdout=io.StringIO())
    assert Page.objects.count() == pages
    assert Revision.objects.count() == revisions
    assert AuditEvent.objects.count() == events
    # the home page replaced Wagtail's welcome page as the site root
    from wagtail.models import Site

    assert Site.objects.get(is_default_site=True).root_page_id == portal.pk
    assert not Page.objects.filter(title__startswith="Welcome").exists()
