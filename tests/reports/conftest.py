"""A small, mixed scheme year for the report tests: claims in every status, channel, benefit
and month (one approved at 04:00 Shanghai time on 1 April, i.e. 31 March in UTC), fee
receipts, returned and rejected steps, recoveries and top-ups, two years of enrollment.

The tests recompute every figure in plain Python over these rows (never through the
reports' queries) and compare."""

import datetime as dt
import random
from pathlib import Path

import pytest
from django.utils import timezone

from huzhu.claims.models import (
    AdjustmentItem,
    Claim,
    ClaimFiler,
    ClaimSource,
    ClaimStatus,
    ClaimTransition,
)
from huzhu.enrollment.models import FeeReceipt
from huzhu.organizations.models import Role, UnionKind
from huzhu.plans.services import plan_load
from tests.factories import (
    ClaimFactory,
    EnrollmentFactory,
    MemberFactory,
    SchemeYearFactory,
    UnionFactory,
    UserFactory,
)

PLAN_2026 = Path(__file__).resolve().parent.parent / "data" / "plan-2026.yaml"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def tree(db):
    fed = UnionFactory(code="F000", name="嵊州市总工会", kind=UnionKind.FEDERATION)
    town = UnionFactory(code="T01", name="剡湖街道总工会", kind=UnionKind.TOWNSHIP, parent=fed)
    a = UnionFactory(code="WA", name="甲公司工会", parent=town)
    a2 = UnionFactory(code="WA2", name="乙公司工会", parent=town)
    b = UnionFactory(code="WB", name="丙公司工会", parent=fed)
    return {"fed": fed, "town": town, "a": a, "a2": a2, "b": b}


@pytest.fixture
def users(tree):
    return {
        "operator_town": UserFactory(
            username="op_town", role=Role.UNION_OPERATOR, union=tree["town"]
        ),
        "operator_b": UserFactory(username="op_b", role=Role.UNION_OPERATOR, union=tree["b"]),
        "reviewer": UserFactory(username="rev", role=Role.FEDERATION_REVIEWER, union=tree["fed"]),
        "finance": UserFactory(username="fin", role=Role.FEDERATION_FINANCE, union=tree["fed"]),
        "admin": UserFactory(username="adm", role=Role.ADMIN, union=tree["fed"]),
    }


@pytest.fixture
def scheme(tree):
    """The mixed 2026 scheme year; returns its objects."""
    rng = random.Random(18)
    plan_load(source_text=PLAN_2026.read_text(encoding="utf-8"), source_name="2026.yaml")
    y2025 = SchemeYearFactory(year=2025)
    y2026 = SchemeYearFactory(year=2026)
    leaves = [tree["a"], tree["a2"], tree["b"]]
    members = []
    for i in range(18):
        union = leaves[i % 3]
        m = MemberFactory(union=union)
        if i % 5 == 0:
            m.bank_name = ""
        else:
            m.bank_name = "中国工商银行"
            m.bank_account = f"62220000000000{i:04d}"
        m.save()
        if i % 4 != 3:  # most are enrolled in 2026
            EnrollmentFactory(member=m, scheme_year=y2026, union=union)
        if i % 3 != 2:  # two thirds were enrolled in 2025 (renewals when also in 2026)
            EnrollmentFactory(member=m, scheme_year=y2025, union=leaves[(i + 1) % 3])
        members.append(m)
    enrolled = [m for i, m in enumerate(members) if i % 4 != 3]
    hospitals = ["嵊州市人民医院", "嵊州市中医院", "绍兴市人民医院"]
    kinds = [
        (ClaimSource.AUTO, ClaimFiler.PLATFORM),
        (ClaimSource.ONESTOP, ClaimFiler.PLATFORM),
        (ClaimSource.MANUAL, ClaimFiler.MEMBER),
        (ClaimSource.MANUAL, ClaimFiler.UNION_OPERATOR),
    ]
    statuses = [
        ClaimStatus.APPROVED,
        ClaimStatus.PAID,
        ClaimStatus.PAID,
        ClaimStatus.SUBMITTED,
        ClaimStatus.UNION_REVIEWED,
        ClaimStatus.RETURNED,
        ClaimStatus.REJECTED,
        ClaimStatus.VOID,
        ClaimStatus.APPROVED,
        ClaimStatus.PAID,
    ]
    now = timezone.now()
    claims = []
    for n in range(70):
        m = enrolled[n % len(enrolled)]
        source, filer = kinds[rng.randrange(4)]
        status = statuses[n % len(statuses)]
        discharge = dt.date(2026, 1, 5) + dt.timedelta(days=rng.randrange(300))
        approved_at = paid_at = None
        amount = rng.randrange(0, 3_000_000) if n % 13 else 0
        if status in (ClaimStatus.APPROVED, ClaimStatus.PAID, ClaimStatus.VOID):
            approved_at = dt.datetime.combine(
                discharge + dt.timedelta(days=rng.randrange(40)),
                dt.time(rng.randrange(24), 30),
                tzinfo=SHANGHAI,
            )
        if status == ClaimStatus.PAID:
            paid_at = approved_at + dt.timedelta(days=rng.randrange(1, 30), hours=3)
        benefit = ("inpatient", "住院医疗互助") if n % 6 else ("critical_illness", "重大疾病互助")
        if status in (ClaimStatus.APPROVED, ClaimStatus.PAID) and benefit[0] != "inpatient":
            amount = 1_000_000
        c = ClaimFactory(
            enrollment=m.enrollments.get(scheme_year=y2026),
            benefit_code=benefit[0],
            benefit_name=benefit[1],
            source=source,
            filer=filer,
            payee_kind="hospital" if source == ClaimSource.ONESTOP else "member",
            hospital_code="H1" if source == ClaimSource.ONESTOP else "",
            hospital_name=hospitals[rng.randrange(3)],
            admit_date=discharge - dt.timedelta(days=rng.randrange(1, 10)),
            discharge_date=discharge,
            status=status,
            status_changed_at=now - dt.timedelta(days=rng.randrange(0, 70), hours=1),
            approved_at=approved_at,
            paid_at=paid_at,
            amount_fen=amount
            if status in (ClaimStatus.APPROVED, ClaimStatus.PAID, ClaimStatus.VOID)
            else None,
            status_reason="冲正作废" if status == ClaimStatus.VOID else "",
        )
        claims.append(c)
    # The month edge: 04:00 on 1 April in Shanghai is 20:00 on 31 March in UTC.
    edge = claims[0]
    edge.status = ClaimStatus.APPROVED
    edge.amount_fen = 123_456
    edge.approved_at = dt.datetime(2026, 4, 1, 4, 0, tzinfo=SHANGHAI)
    edge.save()
    # Returned and rejected steps (a claim returned twice counts twice).
    reasons = ["发票不清晰", "缺少出院小结", "不在保障期内"]
    for i, c in enumerate(claims):
        if c.status == ClaimStatus.RETURNED:
            ClaimTransition.objects.create(
                claim=c, from_status="submitted", to_status="returned", reason=reasons[i % 2]
            )
            if i % 3 == 0:
                ClaimTransition.objects.create(
                    claim=c, from_status="submitted", to_status="returned", reason=reasons[0]
                )
        if c.status == ClaimStatus.REJECTED:
            ClaimTransition.objects.create(
                claim=c, from_status="union_reviewed", to_status="rejected", reason=reasons[2]
            )
    paid = [c for c in claims if c.status == ClaimStatus.PAID]
    AdjustmentItem.objects.create(
        member=paid[0].member,
        claim=paid[0],
        kind="recovery",
        amount_fen=30_000,
        settled_amount_fen=10_000,
        reason="冲正追回",
    )
    AdjustmentItem.objects.create(
        member=paid[1].member,
        claim=paid[1],
        kind="recovery",
        amount_fen=5_000,
        settled_amount_fen=5_000,
        status="settled",
        reason="冲正追回",
    )
    AdjustmentItem.objects.create(
        member=paid[2].member,
        claim=paid[2],
        kind="top_up",
        amount_fen=7_000,
        settled_amount_fen=7_000,
        status="settled",
        reason="补发",
    )
    # A payment failed to a card not updated since.
    failed = next(c for c in claims if c.status == ClaimStatus.APPROVED and c.amount_fen)
    Claim.objects.filter(pk=failed.pk).update(
        payment_failed_at=now, payment_failure_reason="账户不存在"
    )
    FeeReceipt.objects.create(
        union=tree["a"], scheme_year=y2026, received_on=dt.date(2026, 1, 15), amount_fen=20_000
    )
    FeeReceipt.objects.create(
        union=tree["a"], scheme_year=y2026, received_on=dt.date(2026, 3, 2), amount_fen=4_000
    )
    FeeReceipt.objects.create(
        union=tree["b"], scheme_year=y2026, received_on=dt.date(2026, 2, 20), amount_fen=30_000
    )
    # Another year's claim never shows in 2026.
    ClaimFactory(
        enrollment=EnrollmentFactory(scheme_year=y2025, member=MemberFactory(union=tree["a"])),
        status=ClaimStatus.PAID,
        approved_at=dt.datetime(2025, 6, 1, tzinfo=SHANGHAI),
        paid_at=dt.datetime(2025, 6, 9, tzinfo=SHANGHAI),
    )
    return {"year": y2026, "prev": y2025, "members": members, "claims": claims}
