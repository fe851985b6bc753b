"""huzhu portal-import and huzhu portal-reindex."""

import io
import json

import pytest
from django.core.management import call_command

from huzhu.portal.models import ArticlePage, PortalSettings, SearchToken
from huzhu.portal.search import portal_search

PAGE = """嵊州市
当前位置: 首页> 信息公开> 工作动态
市总工会开展“送清凉”活动
发布日期:2025-07-15 09:30:00    来源:市总工会
阅读量:
7月15日，市总工会走访慰问高温一线职工。
活动共慰问职工三百余人。
编辑:嵊州采编02   责任编辑:嵊州采编01
版权所有:嵊州市总工会
工会地址:嵊州市领带园一路401号 联系电话:0575-83112057
浙ICP备14041666号
"""


def _run(*args):
    out = io.StringIO()
    try:
        call_command(*args, stdout=out)
        code = 0
    except SystemExit as e:
        code = e.code
    lines = out.getvalue().strip().splitlines()
    return code, lines, json.loads(lines[-1])


def test_portal_import_puts_the_page_under_its_breadcrumb_section(portal, tmp_path, client):
    path = tmp_path / "songqingliang.txt"
    path.write_text(PAGE, encoding="utf-8")
    code, lines, summary = _run("portal-import", str(path), "--slug", "songqingliang")
    assert code == 0
    assert summary["ok"] and summary["changed"] and summary["paragraphs"] == 2
    article = ArticlePage.objects.get(pk=summary["page_id"])
    assert article.get_parent().title == "工作动态"
    assert article.source == "市总工会"
    assert article.subtitle == ""
    assert (article.bylines.editor, article.bylines.chief_editor) == ("嵊州采编02", "嵊州采编01")
    assert client.get("/xxgk/gzdt/songqingliang/").status_code == 200
    assert [p.pk for p in portal_search("送清凉")] == [article.pk]
    # again: nothing changes
    code, _, summary = _run("portal-import", str(path), "--slug", "songqingliang")
    assert code == 0 and summary["changed"] is False


def test_portal_import_refuses_a_page_with_an_unknown_section(portal, tmp_path):
    path = tmp_path / "x.txt"
    path.write_text(PAGE.replace("工作动态", "专题活动"), encoding="utf-8")
    count = ArticlePage.objects.count()
    code, lines, summary = _run("portal-import", str(path), "--slug", "x")
    assert code == 1
    assert summary["error"] == "section_missing"
    assert "专题活动" in lines[0]
    assert ArticlePage.objects.count() == count


def test_portal_import_refuses_an_unreadable_page_and_reports_the_line(portal, tmp_path):
    path = tmp_path / "x.txt"
    path.write_text(PAGE.replace("编辑:嵊州采编02   责任编辑:嵊州采编01\n", ""), encoding="utf-8")
    code, lines, summary = _run("portal-import", str(path), "--slug", "x")
    assert code == 1
    assert summary["error"] == "old_site_page_invalid"
    assert "编辑/责任编辑" in summary["message"]


def test_portal_import_usage_errors(portal, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError) as exc:
        call_command("portal-import", str(tmp_path / "missing.txt"), "--slug", "x")
    assert exc.value.returncode == 2


def test_portal_import_footer_option_updates_site_settings(portal, tmp_path):
    path = tmp_path / "p.txt"
    path.write_text(PAGE.replace("0575-83112057", "0575-80000000"), encoding="utf-8")
    code, _, summary = _run("portal-import", str(path), "--slug", "p", "--footer")
    assert code == 0 and summary["footer"]
    assert PortalSettings.objects.get().phone == "0575-80000000"


def test_portal_reindex_rebuilds_the_index(portal):
    SearchToken.objects.all().delete()
    assert portal_search("医疗互助") == []
    code, _, summary = _run("portal-reindex")
    assert code == 0
    from huzhu.portal.demo import ARTICLES

    # the imported speech, three notices, the guide, and the demo's other articles
    assert summary["pages"] == 5 + len(ARTICLES)
    assert summary["tokens"] == SearchToken.objects.count() > 0
    assert portal_search("医疗互助")
