"""The article page shows what the old site shows: fields, breadcrumb, by-line, footer, 阅读量."""

import re

from huzhu.portal.demo import SPEECH_FILE
from huzhu.portal.oldsite import old_site_page_parse
from tests.portal.conftest import SPEECH_URL, page_text


def test_article_page_shows_every_field_of_the_source(client, speech):
    response = client.get(SPEECH_URL)
    assert response.status_code == 200
    text = page_text(response)
    parsed = old_site_page_parse(SPEECH_FILE.read_text(encoding="utf-8"))
    assert "当前位置: 首页 > 信息公开 > 领导讲话" in text
    assert "不忘初心,牢记使命 进一步提升新时期工会干部的综合素质" in text
    assert "党组书记、常务副主席王均灿讲党课" in text
    assert "发布日期:2019-10-25 17:09:02 来源:" in text
    assert "阅读量:1" in text
    assert "编辑:嵊州采编01 责任编辑:嵊州采编01" in text
    # every paragraph, in the source's order
    positions = [text.find(" ".join(p.split())) for p in parsed.paragraphs]
    assert -1 not in positions
    assert positions == sorted(positions)
    # footer from the site settings (values the importer took from the same page)
    assert "版权所有:嵊州市总工会" in text
    assert "工会地址:嵊州市领带园一路401号 联系电话:0575-83112057" in text
    assert "浙ICP备14041666号" in text
    assert "嵊州市总工会官方二维码" in text


def test_breadcrumb_links_lead_to_the_sections(client, speech):
    html = client.get(SPEECH_URL).content.decode()
    crumb = re.search(r'<nav class="crumb".*?</nav>', html, flags=re.S).group(0)
    assert re.findall(r'href="([^"]+)">([^<]+)</a>', crumb) == [
        ("/", "首页"),
        ("/xxgk/", "信息公开"),
        ("/xxgk/ldjh/", "领导讲话"),
    ]
    for url in ("/", "/xxgk/", "/xxgk/ldjh/"):
        assert client.get(url).status_code == 200


def test_each_view_adds_one_to_the_read_count(client, speech):
    from huzhu.portal.selectors import article_read_count

    for expected in (1, 2, 3):
        text = page_text(client.get(SPEECH_URL))
        assert f"阅读量:{expected}" in text
    assert article_read_count(page=speech) == 3
    # a HEAD request and an admin preview are not views
    client.head(SPEECH_URL)
    assert article_read_count(page=speech) == 3


def test_read_count_survives_publishing_a_new_revision(client, speech):
    """Publishing saves every page field; the count lives outside the page and is kept."""
    from huzhu.portal.selectors import article_read_count

    client.get(SPEECH_URL)
    client.get(SPEECH_URL)
    speech.source = "嵊州市总工会"
    speech.save_revision().publish()
    assert article_read_count(page=speech) == 2
    assert "阅读量:3" in page_text(client.get(SPEECH_URL))


def test_article_listing_is_newest_first_with_pagination(client, portal):
    import datetime as dt

    from django.utils import timezone
    from wagtail.rich_text import RichText

    from huzhu.portal.models import ArticlePage, SectionPage

    section = SectionPage.objects.get(slug="gzdt")
    for demo_article in ArticlePage.objects.child_of(section):  # the demo's own news items
        demo_article.delete()
    start = timezone.make_aware(dt.datetime(2026, 1, 1, 9, 0))
    # created out of date order on purpose
    for n in [3, 17, 0, 9, 12, 1, 5, 19, 8, 14, 2, 16, 6, 11, 4, 18, 7, 13, 10, 15]:
        article = ArticlePage(
            title=f"工作动态第{n:02d}号",
            slug=f"news-{n:02d}",
            body=[("paragraph", RichText("<p>内容</p>"))],
            first_published_at=start + dt.timedelta(days=n),
        )
        section.add_child(instance=article)
        article.save_revision().publish()
    first = page_text(client.get("/xxgk/gzdt/"))
    second = page_text(client.get("/xxgk/gzdt/?page=2"))
    titles = lambda text: re.findall(r"工作动态第(\d\d)号", text)  # noqa: E731
    assert titles(first) == [f"{n:02d}" for n in range(19, 4, -1)]
    assert titles(second) == ["04", "03", "02", "01", "00"]
    assert "第 1 / 2 页（共 20 条）" in first
    # the parent section lists what is below its subsections too, still newest first
    assert titles(page_text(client.get("/xxgk/")))[:3] == ["19", "18", "17"]


def test_home_page_shows_sections_notices_member_entry_and_qr(client, portal):
    response = client.get("/")
    html = response.content.decode()
    text = page_text(response)
    assert response.status_code == 200
    assert '<a class="entry" href="/m/">医疗互助 在线申请 / 查询</a>' in html
    for section in ("通知公告", "领导讲话", "政策文件", "工作动态", "产业工会", "县(市、区)"):
        assert section in text
    # the latest notice and the imported speech are both listed
    assert "嵊州市总工会门户网站改版上线的公告" in text
    assert "不忘初心,牢记使命 进一步提升新时期工会干部的综合素质" in text
    assert html.count('<svg class="qr"') == 1
    assert "<img" not in html
