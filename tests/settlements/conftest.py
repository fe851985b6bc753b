"""Fixtures for the settlement import: the example plan of domain.md loaded for 2026, and
helpers to write settlement files and enroll members."""

import datetime as dt
from pathlib import Path

import pytest

from huzhu.plans.services import plan_load
from huzhu.settlements.plans import loaded_plans
from tests.factories import EnrollmentFactory, MemberFactory, SchemeYearFactory, UnionFactory

DATA = Path(__file__).resolve().parent.parent / "data"
SAMPLE_GBK = DATA / "sample-national-fields-gbk.csv"
PLAN_2026 = DATA / "plan-2026.yaml"

HEADER = (
    "settlement_id,id_number,name,hospital,hospital_level,admit_date,discharge_date,"
    "total_cost,fund_paid,self_pay_in_policy,self_pay_out_policy,diagnosis_code,out_of_area,"
    "reverses"
)


@pytest.fixture
def year2026(db):
    return SchemeYearFactory(year=2026, waiting_period_days=90)


@pytest.fixture
def plans(year2026):
    """The plan of domain.md loaded for 2026 through `plan_load` (version 1)."""
    plan_load(source_text=PLAN_2026.read_text(encoding="utf-8"), source_name="2026.yaml")
    return loaded_plans()


@pytest.fixture
def union(db):
    return UnionFactory(code="WSZ1", name="测试工会")


@pytest.fixture
def enroll(year2026, union):
    """enroll(id_number=..., name=..., enrolled_on=..., renewal=False) -> member."""

    def _enroll(*, id_number=None, name="张三", enrolled_on=dt.date(2025, 12, 1), renewal=True):
        kwargs = {"name": name, "union": union}
        if id_number:
            kwargs["id_number"] = id_number
        member = MemberFactory(**kwargs)
        EnrollmentFactory(member=member, scheme_year=year2026, union=union, enrolled_on=enrolled_on)
        if renewal:
            prev = SchemeYearFactory(year=2025)
            EnrollmentFactory(
                member=member, scheme_year=prev, union=union, enrolled_on=dt.date(2024, 12, 1)
            )
        return member

    return _enroll


def row(
    sid,
    member,
    *,
    admit="2026-03-01",
    discharge="2026-03-10",
    base="3000.00",
    total=None,
    fund="5000.00",
    out="0.00",
    diag="J18.900",
    hospital="嵊州市人民医院",
    reverses="",
    name=None,
):
    """One CSV line in our field names; total defaults to fund + base + out."""
    from decimal import Decimal

    if total is None:
        total = str(Decimal(fund) + Decimal(base) + Decimal(out))
    id_number = member if isinstance(member, str) else member.id_number
    who = name if name is not None else ("" if isinstance(member, str) else member.name)
    return (
        f"{sid},{id_number},{who},{hospital},3,{admit},{discharge},{total},{fund},{base},"
        f"{out},{diag},0,{reverses}"
    )


@pytest.fixture
def write_csv(tmp_path):
    counter = iter(range(1, 10_000))

    def _write(lines, *, name=None, encoding="utf-8"):
        path = tmp_path / (name or f"settle-{next(counter)}.csv")
        path.write_text("\n".join([HEADER, *lines]) + "\n", encoding=encoding)
        return path

    return _write
