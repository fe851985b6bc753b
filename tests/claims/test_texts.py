"""The bulk import's vectorised texts equal the row path's, to the character; a compact
breakdown rebuilds the full breakdown and explanation."""

import json
import random
from datetime import date, timedelta

import polars as pl
import pytest

from huzhu.claims import texts
from huzhu.core.money import format_fen
from huzhu.plans.rules.ledger import CoveredStay, adjudicate_member_year
from huzhu.plans.schema import plan_from_yaml
from tests.settlements.conftest import PLAN_2026

PLAN = PLAN_2026.read_text(encoding="utf-8")
PER_STAY = PLAN.replace("per: year}   # per", "per: stay}   # per")


@pytest.mark.parametrize("source", [PLAN, PER_STAY], ids=["per-year", "per-stay"])
def test_compact_breakdown_rebuilds_breakdown_and_explanation(source):
    plan = plan_from_yaml(source)
    rnd = random.Random(7)
    rows, expected, dicts = [], [], []
    for member in range(300):
        stays = [
            CoveredStay(
                f"S{member}-{k}",
                date(2026, 1, 1) + timedelta(days=rnd.randrange(360)),
                rnd.choice([0, 1, 30_000, 50_000, 120_000, 999_999, 2_500_000, 9_000_000]),
            )
            for k in range(rnd.randint(1, 5))
        ]
        for b in adjudicate_member_year(plan, stays, sex="male").benefits:
            row = {
                "base_fen": b.base_fen,
                "deductible_fen": b.deductible_fen,
                "excess_fen": b.excess_fen,
                "before_cap_fen": b.before_cap_fen,
                "cap_cut_fen": b.cap_cut_fen,
                "amount_fen": b.amount_fen,
            }
            for p in b.bands:
                row[f"band_{p.index}_base_fen"] = p.base_fen
                row[f"band_{p.index}_amount_fen"] = p.amount_fen
            rows.append(row)
            expected.append(texts.explanation_text(plan, b))
            dicts.append(texts.breakdown_dict(plan, 3, b))
    stored = pl.DataFrame(rows).select(texts.compact_breakdown_expr(plan))[:, 0].to_list()
    compact = [json.loads(s) for s in stored]
    code = plan.inpatient.code
    assert [texts.compact_explanation(plan, code, c) for c in compact] == expected
    assert [texts.expand_breakdown(plan, 3, code, "", c) for c in compact] == dicts
    assert max(len(s) for s in stored) < 100
    assert any("封顶线" in t for t in expected) and any("全部用于抵扣起付线" in t for t in expected)


def test_compact_lump_sum_rebuilds_from_the_plan():
    plan = plan_from_yaml(PLAN)
    benefit = plan.lump_sums[0]
    assert texts.expand_breakdown(plan, 2, benefit.code, "C50901", []) == (
        texts.lump_breakdown_dict(plan, 2, benefit, "C50901")
    )
    assert texts.compact_explanation(plan, benefit.code, []) == texts.lump_explanation_text(
        plan, benefit
    )
    assert texts.expand_breakdown(plan, 2, "no_such_benefit", "", []) == {}


def test_grouped_yuan_equals_format_fen():
    values = [0, 1, 99, 100, 99_999, 100_000, 123_456_789, 100_000_000_000, 98_765_432_101_234]
    got = pl.DataFrame({"f": values}).select(texts.yuan_grouped_expr(pl.col("f")))[:, 0]
    assert got.to_list() == [format_fen(v) for v in values]


def test_notice_of_a_zero_claim_says_why():
    frame = pl.DataFrame(
        {
            "hospital": ["嵊州市人民医院"],
            "admit": [date(2026, 12, 28)],
            "discharge": [date(2027, 1, 3)],
            "benefit_name": ["住院医疗互助"],
            "amount_fen": [0],
            "for_review": [False],
            "zero_reason": ["本次费用未超过起付线。"],
        }
    )
    text = frame.select(texts.notice_expr())[0, 0]
    assert text == texts.notice_text(
        hospital="嵊州市人民医院",
        admit=date(2026, 12, 28),
        discharge=date(2027, 1, 3),
        benefit_name="住院医疗互助",
        amount_fen=0,
        for_review=False,
        zero_reason="本次费用未超过起付线。",
    )
    assert text.endswith("金额0.00元，无需申请（本次费用未超过起付线）")
    assert "（2026-12-28至2027-01-03）" in text
