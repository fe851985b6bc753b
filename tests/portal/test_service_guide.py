"""医疗互助 办事指南: the benefit table is generated from the plan in force, at render time."""

import re
from pathlib import Path

from django.utils import timezone

from huzhu.plans.services import plan_load
from tests.portal.conftest import page_text

PLAN_FILE = Path(__file__).resolve().parents[1] / "data" / "plan-2026.yaml"
GUIDE_URL = "/bszn/"


def _plan_text(**replace) -> str:
    """The example plan of domain.md, moved onto the current year, with some values changed."""
    text = PLAN_FILE.read_text(encoding="utf-8").replace("2026", str(timezone.localdate().year))
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


def _rows(html: str, table_id: str) -> list[list[str]]:
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, flags=re.S).group(0)
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r)]
        for r in rows
    ]


def test_without_a_plan_the_guide_says_so(client, portal):
    text = page_text(client.get(GUIDE_URL))
    assert "本年度互助方案尚未发布" in text


def test_benefit_table_shows_the_plan_in_force(client, portal):
    plan = plan_load(source_text=_plan_text()).plan
    html = client.get(GUIDE_URL).content.decode()
    main = dict(_rows(html, "benefit-table"))
    assert main["方案名称"] == plan.name
    assert main["会费标准"].startswith("每人每年60.00元")
    assert "入会登记之日起90天为观察期" in main["观察期"]
    assert main["起付线"] == "每年度累计500.00元（全年只扣一次）"
    assert main["封顶线"] == "住院医疗互助每人每年度最高30,000.00元"
    assert "出院之日起365天内" in main["申请时限"]
    assert "政策范围内个人负担" in main["补助基数"]
    assert _rows(html, "band-table")[1:] == [
        ["10,000.00元以内（含）的部分", "50%"],
        ["10,000.00元以上至50,000.00元（含）的部分", "60%"],
        ["超过50,000.00元的部分", "70%"],
    ]
    lump = _rows(html, "lump-sum-table")[1:]
    assert [(r[0], r[1], r[3]) for r in lump] == [
        ("重大疾病互助", "10,000.00元", "每年度一次"),
        ("女职工特殊疾病互助", "5,000.00元", "终身一次"),
    ]
    assert "C00-C97 恶性肿瘤（癌症）、I21 急性心肌梗死、I60-I64 脑血管病" in lump[0][2]
    assert lump[1][2].startswith("女职工")
    text = page_text(client.get(GUIDE_URL))
    assert "免申即享" in text and "跑零次" in text
    assert 'href="/m/"' in html


def test_a_new_plan_version_changes_the_guide_without_editing_it(client, portal):
    plan_load(source_text=_plan_text())
    # a changed file for the same year becomes the version in force
    result = plan_load(
        source_text=_plan_text(**{'"60.00"': '"80.00"', '"30000.00"': '"40000.00"', "0.70": "0.75"})
    )
    assert result.plan.fee_per_member_fen == 8000
    html = client.get(GUIDE_URL).content.decode()
    main = dict(_rows(html, "benefit-table"))
    assert main["会费标准"].startswith("每人每年80.00元")
    assert main["封顶线"].endswith("最高40,000.00元")
    assert _rows(html, "band-table")[-1] == ["超过50,000.00元的部分", "75%"]
    assert "60.00元" not in main["会费标准"]
