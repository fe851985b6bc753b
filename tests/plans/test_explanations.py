"""Member-facing explanations built from the breakdown."""

from datetime import date

from huzhu.plans.rules.explain import explain_outcome
from huzhu.plans.rules.ledger import Coverage

from .helpers import MEMBER, make_plan, renewed, run_both, stay


def explain(plan, rows, coverage=None):
    outcomes = run_both(plan, rows, coverage if coverage is not None else renewed(MEMBER))
    return [explain_outcome(o, plan) for o in outcomes]


def test_worked_example_sentences(plan_2026):
    a, b = explain(plan_2026, [stay("A", "3000.00"), stay("B", "12000.00", discharge="2026-05-01")])
    assert (
        a
        == "本次政策范围内个人负担3,000.00元，扣除起付线500.00元后，2,500.00元按50%补助，补助1,250.00元"
    )
    assert b == (
        "本次政策范围内个人负担12,000.00元（本年度起付线已扣满），"
        "7,500.00元按50%、4,500.00元按60%补助，补助6,450.00元"
    )


def test_deductible_absorbed_and_cap_cut():
    plan = make_plan(cap={"amount": "1000.00", "per": "year"})
    a, b, c = explain(
        plan,
        [
            stay("A", "300.00"),
            stay("B", "3200.00", discharge="2026-04-01"),
            stay("C", "100.00", discharge="2026-05-01"),
        ],
    )
    assert (
        a
        == "本次政策范围内个人负担300.00元，全部用于抵扣起付线（本年度起付线500.00元），补助0.00元"
    )
    assert b == (
        "本次政策范围内个人负担3,200.00元，扣除起付线200.00元后，3,000.00元按50%补助，"
        "应补助1,500.00元，因达到本年度封顶线1,000.00元，核减500.00元，补助1,000.00元"
    )
    assert c.endswith("但本年度补助已达封顶线1,000.00元，本次补助0.00元")


def test_every_non_covered_status_is_explained():
    plan = make_plan()
    coverage = {MEMBER: Coverage(date(2026, 1, 1), renewal=False)}
    rows = [
        stay("P", "1.00", admit="2027-01-01", discharge="2027-01-02"),
        stay("W", "1.00"),
        stay("W", "1.00"),
        stay("X", "1.00", reverses="Y"),
        stay("Y", "1.00", admit="2026-05-01", discharge="2026-05-02"),
        stay("Z", "1.234"),
        stay("N", "1.00", who="11010519491231002X"),
    ]
    texts = explain(plan, rows, coverage)
    assert texts[0].startswith("出院日期不在2026年度保障期间")
    assert "观察期为90天" in texts[1] and "2026-04-01" in texts[1]
    assert texts[2] == "该结算记录与已有记录重复，不重复补助"
    assert texts[3] == "这是一条冲正（退费）记录，冲销原结算记录Y，本身不产生补助"
    assert texts[4] == "该结算记录已被医保冲正（退费），不予补助"
    assert (
        texts[5]
        == "结算记录数据有误（self_pay_in_policy：金额超过两位小数），暂不能计算补助，请联系所在工会核实"
    )
    assert texts[6] == "出院日期所在的2026年度未参加互助保障，本次住院不能补助"


def test_lump_sum_sentence(plan_2026):
    texts = explain(plan_2026, [stay("A", "1000.00", diag="I21.0")])
    assert texts[1] == "本次住院的出院诊断符合“重大疾病互助”条件，一次性补助10,000.00元"
