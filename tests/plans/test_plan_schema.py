"""Plan files: a frozen plan in integer fen, or every problem listed with its path."""

from datetime import date
from decimal import Decimal

import pydantic
import pytest
import yaml

from huzhu.plans.schema import PlanError, plan_from_data, plan_from_yaml, plan_move_to_year

from .conftest import DATA

EXAMPLE = (DATA / "plan-2026.yaml").read_text(encoding="utf-8")


def data():
    return yaml.safe_load(EXAMPLE)


def problems(d):
    with pytest.raises(PlanError) as exc:
        plan_from_data(d)
    return {str(p) for p in exc.value.problems}


def paths(d):
    with pytest.raises(PlanError) as exc:
        plan_from_data(d)
    return {p.path for p in exc.value.problems}


def test_example_plan_loads_frozen_in_fen(plan_2026):
    assert plan_2026.fee_per_member_fen == 6000
    inpatient = plan_2026.inpatient
    assert inpatient.deductible_fen == 50000 and inpatient.cap_fen == 3000000
    assert inpatient.bands() == [
        (0, 1000000, 5000),
        (1000000, 5000000, 6000),
        (5000000, None, 7000),
    ]
    assert inpatient.tiers[0].ratio == Decimal("0.50")
    assert [b.code for b in plan_2026.lump_sums] == ["critical_illness", "female_special"]
    with pytest.raises(pydantic.ValidationError):
        plan_2026.year = 2027


def test_every_problem_is_listed_with_its_path():
    d = data()
    d["period"]["end"] = date(2025, 12, 31)
    d["fee_per_member"] = "-60.00"
    tiers = d["benefits"][0]["tiers"]
    tiers[0]["ratio"] = "1.5"
    tiers[1]["up_to"] = "5000.00"
    tiers[1]["ratio"] = "0.60001"
    tiers[2]["up_to"] = "90000.00"
    d["benefits"][0]["base"] = "self_pay"
    d["benefits"][1]["code"] = "inpatient"
    d["benefits"].append({"code": "dental", "name": "牙科"})
    found = problems(d)
    assert "benefits[0].tiers[1].up_to: 必须大于前一档的上限" in found
    assert "benefits[0].tiers[0].ratio: 比例应在0到1之间" in found
    assert "benefits[0].tiers[1].ratio: 比例最多4位小数" in found
    assert "benefits[0].tiers[2].up_to: 最后一档不能设上限（应为开放档）" in found
    assert "fee_per_member: 金额不能为负数" in found
    assert "period.end: 结束日期早于开始日期" in found
    assert any(p.startswith("benefits[0].base: ") for p in found)
    assert "benefits[1].code: 与 benefits[0] 的编码“inpatient”重复" in found
    assert any(p.startswith("benefits[3]: 未知的补助类型") for p in found)


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (
            lambda d: d["benefits"][0]["deductible"].update(amount="500.001"),
            "benefits[0].deductible.amount",
        ),
        (lambda d: d["benefits"][0]["cap"].update(amount="abc"), "benefits[0].cap.amount"),
        (
            lambda d: d["benefits"][0]["deductible"].update(per="month"),
            "benefits[0].deductible.per",
        ),
        (lambda d: d["benefits"][0]["tiers"][2].update(ratio="-0.1"), "benefits[0].tiers[2].ratio"),
        (lambda d: d["benefits"][0]["tiers"][0].pop("up_to"), "benefits[0].tiers[0].up_to"),
        (lambda d: d["benefits"][0].update(tiers=[]), "benefits[0].tiers"),
        (lambda d: d["benefits"][1].update(diagnoses=["C97-C00"]), "benefits[1].diagnoses[0]"),
        (lambda d: d["benefits"][1].update(diagnoses=["??"]), "benefits[1].diagnoses[0]"),
        (lambda d: d["benefits"][1].update(once_per="decade"), "benefits[1].once_per"),
        (lambda d: d["benefits"][2].update(sex="other"), "benefits[2].sex"),
        (lambda d: d["benefits"][2].update(lump_sum="-1"), "benefits[2].lump_sum"),
        (lambda d: d.update(waiting_period_days=-1), "waiting_period_days"),
        (lambda d: d.pop("name"), "name"),
        (lambda d: d.update(colour="blue"), "colour"),
        (lambda d: d["period"].update(start="2026/01/01"), "period.start"),
        (lambda d: d.update(benefits=d["benefits"][1:]), "benefits"),
        (lambda d: d.update(benefits=[d["benefits"][0], dict(d["benefits"][0])]), "benefits"),
    ],
)
def test_each_validation_error_has_its_path(mutate, path):
    d = data()
    mutate(d)
    assert path in paths(d)


def test_cap_is_optional():
    d = data()
    del d["benefits"][0]["cap"]
    assert plan_from_data(d).inpatient.cap_fen is None


def test_yaml_syntax_error_is_a_plan_error():
    with pytest.raises(PlanError) as exc:
        plan_from_yaml("year: [2026\n")
    assert "YAML" in exc.value.message


def test_move_plan_to_another_year(plan_2026):
    moved = plan_move_to_year(plan_2026, 2025)
    assert moved.year == 2025
    assert (moved.period.start, moved.period.end) == (date(2025, 1, 1), date(2025, 12, 31))
    assert moved.inpatient == plan_2026.inpatient
    assert plan_2026.year == 2026
