"""PostgreSQL, several connections: approvals of one member-year are serialized by the
ledger lock, so deductible, bands and cap hold whatever the timing."""

import datetime as dt

import pytest

from huzhu.claims.models import Claim, ClaimStatus, MemberYearLedger
from huzhu.claims.pricing import manual_claim_amount
from huzhu.claims.services import claim_approve, claim_submit
from tests.concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_three_stays_approved_at_once_pay_the_same_as_one_after_another(world):
    year = world.member.enrollments.get(scheme_year__year=2026).scheme_year
    claims = [
        claim_submit(
            acting_user=world.operator,
            member=world.member,
            scheme_year=year,
            data={
                "benefit_code": "inpatient",
                "hospital_name": "嵊州市人民医院",
                "admit_date": dt.date(2026, month, 1),
                "discharge_date": dt.date(2026, month, 10),
                "self_pay_in_policy_fen": base,
            },
        )
        for month, base in ((3, 300_000), (4, 1_200_000), (5, 5_000_000))
    ]
    results = run_together(
        [
            lambda c=c: claim_approve(
                claim=c, acting_user=world.reviewer, amount=manual_claim_amount
            )
            for c in claims
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    amounts = list(
        Claim.objects.filter(pk__in=[c.pk for c in claims])
        .order_by("discharge_date")
        .values_list("amount_fen", flat=True)
    )
    # In discharge order: 1,250.00; 6,450.00; then 49,500.00 excess on top of 14,500.00:
    # 35,500.00 at 60% + 14,000.00 at 70% = 31,100.00, capped at 30,000 - 7,700 = 22,300.00.
    assert amounts == [125_000, 645_000, 2_230_000]
    assert all(
        c.status == ClaimStatus.APPROVED
        for c in Claim.objects.filter(pk__in=[c.pk for c in claims])
    )
    ledger = MemberYearLedger.objects.get(member=world.member, scheme_year=year)
    assert ledger.paid_toward_cap_fen == 3_000_000
    assert ledger.deductible_used_fen == 50_000
