"""Payments fixtures: members with bank cards, approved claims made by the claims core."""

import datetime as dt
import itertools
from types import SimpleNamespace

import pytest

from huzhu.claims.models import AdjustmentKind, ClaimSource, PayeeKind
from huzhu.claims.services import ClaimAmount, adjustment_create, claim_create_auto
from huzhu.organizations.models import Role, UnionKind
from tests.factories import (
    EnrollmentFactory,
    MemberFactory,
    SchemeYearFactory,
    UnionFactory,
    UserFactory,
)

_settlement = itertools.count(1)
_card = itertools.count(1)


def card_number() -> str:
    return f"62220202{next(_card):011d}"


def enrolled_member(union, year, *, account=None, bank_name="中国工商银行嵊州支行", **kw):
    member = MemberFactory(union=union, bank_name=bank_name, **kw)
    member.bank_account = card_number() if account is None else account
    member.save()
    EnrollmentFactory(member=member, scheme_year=year)
    return member


def approved_claim(
    member,
    year,
    amount_fen: int,
    *,
    benefit="inpatient",
    payee_kind=PayeeKind.MEMBER,
    hospital_code="",
    source=ClaimSource.AUTO,
    discharge=dt.date(2026, 3, 10),
):
    """An approved auto-claim through the claims core (as the settlement import makes them)."""
    n = next(_settlement)
    return claim_create_auto(
        member=member,
        scheme_year=year,
        benefit_code=benefit,
        benefit_name="住院医疗互助",
        stay={
            "settlement_id": f"S{n:08d}",
            "hospital_name": "嵊州市人民医院",
            "hospital_code": hospital_code or ("H001" if payee_kind == PayeeKind.HOSPITAL else ""),
            "admit_date": discharge - dt.timedelta(days=5),
            "discharge_date": discharge,
            "self_pay_in_policy_fen": amount_fen * 2,
        },
        amount=ClaimAmount(amount_fen=amount_fen, explanation="测试"),
        source=ClaimSource.ONESTOP if payee_kind == PayeeKind.HOSPITAL else source,
        payee_kind=payee_kind,
    )


def recovery(member, claim, amount_fen, reason="冲正追回"):
    """A recovery owed by the claim's member (`member` must be the claim's)."""
    assert claim.member_id == member.pk
    return adjustment_create(
        claim=claim, kind=AdjustmentKind.RECOVERY, amount_fen=amount_fen, reason=reason
    )


def top_up(member, claim, amount_fen, reason="补发差额"):
    assert claim.member_id == member.pk
    return adjustment_create(
        claim=claim, kind=AdjustmentKind.TOP_UP, amount_fen=amount_fen, reason=reason
    )


def build_world():
    fed = UnionFactory(code="PF0", name="市总工会", kind=UnionKind.FEDERATION)
    w1 = UnionFactory(code="PW1", name="甲公司工会", parent=fed)
    w2 = UnionFactory(code="PW2", name="乙公司工会", parent=fed)
    year = SchemeYearFactory(year=2026)
    return SimpleNamespace(
        fed=fed,
        w1=w1,
        w2=w2,
        year=year,
        finance=UserFactory(username="pay_finance", role=Role.FEDERATION_FINANCE, union=fed),
        finance2=UserFactory(username="pay_finance2", role=Role.FEDERATION_FINANCE, union=fed),
        operator=UserFactory(username="pay_op", role=Role.UNION_OPERATOR, union=w1),
    )


@pytest.fixture
def pworld(db):
    return build_world()
