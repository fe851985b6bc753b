"""Fixtures for the member pages, the review pages and the member API."""

from types import SimpleNamespace

import pytest

from huzhu.members.sms import MemorySmsBackend
from huzhu.organizations.models import Role, UnionKind
from huzhu.plans.schema import plan_from_yaml
from huzhu.plans.services import plan_load
from tests.factories import (
    EnrollmentFactory,
    MemberFactory,
    SchemeYearFactory,
    UnionFactory,
    UserFactory,
    make_id_number,
)

PLAN_2026 = """
year: 2026
name: 嵊州市职工住院医疗互助（2026年度）
period: {start: 2026-01-01, end: 2026-12-31}
fee_per_member: "60.00"
waiting_period_days: 90
claim_window_days: 365
benefits:
  - code: inpatient
    name: 住院医疗互助
    base: self_pay_in_policy
    deductible: {amount: "500.00", per: year}
    tiers:
      - {up_to: "10000.00", ratio: "0.50"}
      - {up_to: "50000.00", ratio: "0.60"}
      - {ratio: "0.70"}
    cap: {amount: "30000.00", per: year}
  - code: critical_illness
    name: 重大疾病互助
    lump_sum: "10000.00"
    diagnoses: ["C00-C97", "I21", "I60-I64"]
    once_per: year
  - code: female_special
    name: 女职工特殊疾病互助
    lump_sum: "5000.00"
    sex: female
    diagnoses: ["C50", "C53", "C54", "C56"]
    once_per: lifetime
"""


@pytest.fixture
def plan_2026():
    return plan_from_yaml(PLAN_2026)


@pytest.fixture(autouse=True)
def _private_dirs(settings, tmp_path):
    settings.HUZHU_DOCUMENT_DIR = tmp_path / "documents"
    settings.HUZHU_SMS_BACKEND = "huzhu.members.sms.MemorySmsBackend"
    MemorySmsBackend.outbox.clear()


def member_with_login(union, year, **kwargs):
    member = MemberFactory(union=union, **kwargs)
    user = UserFactory(role=Role.MEMBER, union=None, phone=member.phone)
    member.user = user
    member.save(update_fields=["user"])
    EnrollmentFactory(member=member, scheme_year=year)
    return member


@pytest.fixture
def world(db):
    fed = UnionFactory(code="F0", name="嵊州市总工会", kind=UnionKind.FEDERATION)
    w1 = UnionFactory(code="W1", name="甲公司工会", parent=fed)
    w2 = UnionFactory(code="W2", name="乙公司工会", parent=fed)
    plan_load(source_text=PLAN_2026, source_name="plan-2026.yaml")
    year = SchemeYearFactory(year=2026)
    last_year = SchemeYearFactory(year=2025)
    member = member_with_login(w1, year, name="张伟")
    member.bank_name = "中国农业银行嵊州支行"
    member.bank_account = "6228480012345678"
    member.save()
    other = member_with_login(w2, year, name="李娜", id_number=make_id_number(female=True))
    # Both renewed from 2025: covered from 1 January, no waiting period.
    for m in (member, other):
        EnrollmentFactory(member=m, scheme_year=last_year, enrolled_on=last_year.start)
    return SimpleNamespace(
        fed=fed,
        w1=w1,
        w2=w2,
        year=year,
        member=member,
        other=other,
        operator=UserFactory(username="op1", role=Role.UNION_OPERATOR, union=w1),
        other_operator=UserFactory(username="op2", role=Role.UNION_OPERATOR, union=w2),
        reviewer=UserFactory(username="rev", role=Role.FEDERATION_REVIEWER, union=fed),
    )
