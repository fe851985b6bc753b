"""`huzhu demo`'s online-claims step: claims in every state, idempotent."""

import datetime as dt
import io

import pytest

from huzhu.claims.models import Claim
from huzhu.organizations.models import Role, UnionKind, User
from huzhu.plans.services import plan_load
from huzhu.web.member import demo
from tests.factories import (
    EnrollmentFactory,
    MemberFactory,
    SchemeYearFactory,
    UnionFactory,
    UserFactory,
    make_id_number,
)
from tests.member_pages.conftest import PLAN_2026


@pytest.fixture
def demo_world(db, monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: dt.date(2026, 9, 1))
    plan_load(source_text=PLAN_2026, source_name="plan.yaml")
    fed = UnionFactory(code="SZ000", kind=UnionKind.FEDERATION)
    union = UnionFactory(code=demo.UNION_CODE, parent=fed)
    UserFactory(username="operator", role=Role.UNION_OPERATOR, union=union)
    UserFactory(username="reviewer", role=Role.FEDERATION_REVIEWER, union=fed)
    last, this = SchemeYearFactory(year=2025), SchemeYearFactory(year=2026)
    names = ["冯倩玲", "李琴琴", "黄文洋", "徐静娜"]
    for i, name in enumerate(names):
        member = MemberFactory(union=union, name=name, id_number=make_id_number(female=i % 2 == 0))
        EnrollmentFactory(member=member, scheme_year=last)
        EnrollmentFactory(member=member, scheme_year=this)


def test_demo_claims_cover_every_state_and_a_second_run_adds_nothing(demo_world):
    out = io.StringIO()
    demo.run(stdout=out)
    statuses = set(Claim.objects.values_list("status", flat=True))
    assert statuses == {
        "draft",
        "submitted",
        "union_reviewed",
        "returned",
        "approved",
        "paid",
        "rejected",
        "void",
    }
    assert Claim.objects.filter(filer="union_operator").exists()
    assert Claim.objects.filter(benefit_code="critical_illness", status="approved").exists()
    manual = Claim.objects.filter(source="manual").exclude(status="draft")
    assert all(c.documents.count() == 3 for c in manual)
    # The member logins have zero-trip claims of their own; the voided claim is one the
    # bureau's refund (冲正) cancelled, and it says so.
    demo_phones = [f"1380000{i:04d}" for i in range(1, 5)]
    logins = Claim.objects.filter(
        member__user__in=User.objects.filter(role="member", phone__in=demo_phones)
    )
    auto = logins.filter(source="auto")
    assert auto.filter(status="approved").values("member").distinct().count() == 2
    void = Claim.objects.get(status="void")
    assert void.source == "auto" and "冲正" in void.status_reason
    assert "13800000001" in out.getvalue()
    assert not logins.filter(source="onestop").exists()  # no demo hospital registered
    count = Claim.objects.count()
    demo.run(stdout=io.StringIO())
    assert Claim.objects.count() == count


def test_demo_settles_a_stay_at_the_registered_demo_hospital(demo_world):
    from tests.onestop.conftest import make_hospital

    make_hospital(code="H33068301", name="嵊州市人民医院")
    out = io.StringIO()
    demo.run(stdout=out)
    onestop = Claim.objects.filter(source="onestop")
    assert onestop.count() == 1, out.getvalue()
    assert (onestop.get().status, onestop.get().payee_kind) == ("approved", "hospital")
