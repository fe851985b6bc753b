"""Chinese site search at /search/?q= (runs on SQLite and on PostgreSQL in CI)."""

import re

import pytest
from wagtail.rich_text import RichText

from huzhu.portal.models import ArticlePage, SectionPage
from huzhu.portal.search import portal_search, query_tokens, text_tokens
from tests.portal.conftest import page_text


def _result_titles(client, q):
    html = client.get("/search/", {"q": q}).content.decode()
    block = re.search(r'<ul class="article-list results">(.*?)</ul>', html, flags=re.S)
    return re.findall(r'<a href="[^"]+">([^<]+)</a>', block.group(1)) if block else []


def _article(section, title, text, *, publish=True):
    page = ArticlePage(title=title, slug=f"a{ArticlePage.objects.count()}", live=False)
    page.body = [("paragraph", RichText(f"<p>{text}</p>"))]
    section.add_child(instance=page)
    revision = page.save_revision()
    if publish:
        revision.publish()
    return page


def test_tokens_cut_chinese_into_characters_and_pairs():
    assert query_tokens("医疗互助") == ["医疗", "疗互", "互助"]
    assert query_tokens("医") == ["医"]
    assert query_tokens(" APP 2026年 ") == ["年", "app", "2026"]
    assert {"医疗", "疗互", "互助", "医", "助"} <= text_tokens("开展职工医疗互助保障")


def test_query_for_a_word_inside_a_chinese_sentence_finds_the_article(client, portal):
    # the speech mentions 医疗互助 only inside a long run of Chinese text
    titles = _result_titles(client, "医疗互助")
    assert "不忘初心,牢记使命 进一步提升新时期工会干部的综合素质" in titles
    assert "职工住院医疗互助“免申即享”服务上线的公告" in titles
    # a notice that does not contain 医疗互助 is not found
    assert "嵊州市总工会门户网站改版上线的公告" not in titles


def test_every_query_token_must_be_present(portal):
    section = SectionPage.objects.get(slug="gzdt")
    both = _article(section, "甲文", "职工医疗保障与互助共济")  # has 医疗 and 互助, not 医疗互助
    exact = _article(section, "乙文", "推进职工医疗互助工作")
    found = [p.pk for p in portal_search("医疗互助")]
    assert exact.pk in found
    assert both.pk not in found  # 疗互 is missing: no false hit on scattered words
    assert both.pk in [p.pk for p in portal_search("互助共济")]


def test_drafts_and_unpublished_pages_are_not_found(client, portal):
    section = SectionPage.objects.get(slug="gzdt")
    draft = _article(section, "草稿", "越剧小镇职工疗休养安排", publish=False)
    assert portal_search("疗休养") == []
    draft.get_latest_revision().publish()
    assert [p.pk for p in portal_search("疗休养")] == [draft.pk]
    ArticlePage.objects.get(pk=draft.pk).unpublish()
    assert portal_search("疗休养") == []
    assert "没有找到相关内容" in page_text(client.get("/search/", {"q": "疗休养"}))


def test_search_page_without_query_and_with_latin_words(client, portal):
    assert client.get("/search/").status_code == 200
    # "学习强国APP" appears in the speech; Latin words match case-insensitively
    assert "不忘初心,牢记使命 进一步提升新时期工会干部的综合素质" in _result_titles(client, "app")


@pytest.mark.parametrize("query", ["不忘初心", "王均灿", "嵊州采编"])
def test_title_subtitle_and_body_are_searchable(portal, query):
    found = portal_search(query)
    if query == "嵊州采编":  # by-line names are not content
        assert found == []
    else:
        assert [p.title for p in found] == ["不忘初心,牢记使命 进一步提升新时期工会干部的综合素质"]
