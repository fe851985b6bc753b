"""PostgreSQL, several connections at once: a step happens once, a stay is claimed once."""

import datetime as dt

import pytest

from huzhu.claims import services
from huzhu.claims.error_codes import ClaimError, ClaimErrorCode
from huzhu.claims.models import Claim, ClaimFiler, ClaimStatus, ClaimTransition
from huzhu.claims.numbers import claim_numbers_allocate
from huzhu.organizations.models import Role
from tests.concurrency import run_together
from tests.factories import ClaimFactory, EnrollmentFactory, UnionFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_reviewers_approving_at_once_approve_once():
    claim = ClaimFactory(status=ClaimStatus.UNION_REVIEWED, filer=ClaimFiler.MEMBER)
    fed = UnionFactory(code="FED")
    reviewers = [UserFactory(role=Role.FEDERATION_REVIEWER, union=fed) for _ in range(2)]
    results = run_together(
        [
            lambda u=u: services.claim_approve(
                claim=claim, acting_user=u, amount=services.ClaimAmount(amount_fen=1000)
            )
            for u in reviewers
        ]
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], ClaimError)
    assert errors[0].code == ClaimErrorCode.TRANSITION_NOT_ALLOWED
    assert ClaimTransition.objects.filter(claim=claim, to_status="approved").count() == 1


def test_marking_paid_twice_at_once_pays_once():
    claim = ClaimFactory(status=ClaimStatus.APPROVED, amount_fen=5000)
    results = run_together([lambda: services.claim_mark_paid(claim=claim) for _ in range(3)])
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert ClaimTransition.objects.filter(claim=claim, to_status="paid").count() == 1


def test_same_stay_from_two_channels_at_once_is_one_claim():
    enrollment = EnrollmentFactory()
    stay = {
        "settlement_id": "S-RACE",
        "hospital_name": "嵊州市人民医院",
        "admit_date": dt.date(2026, 5, 1),
        "discharge_date": dt.date(2026, 5, 10),
    }

    def create():
        return services.claim_create_auto(
            member=enrollment.member,
            scheme_year=enrollment.scheme_year,
            benefit_code="inpatient",
            stay=stay,
            amount=services.ClaimAmount(amount_fen=1000),
        )

    results = run_together([create, create, create])
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 2, results
    assert {e.code for e in errors} == {ClaimErrorCode.DUPLICATE_SETTLEMENT}
    assert Claim.objects.filter(settlement_id="S-RACE").count() == 1


def test_numbers_allocated_concurrently_never_repeat():
    results = run_together([lambda: claim_numbers_allocate(year=2026, count=200)] * 4)
    numbers = [n for r in results for n in r]
    assert len(numbers) == len(set(numbers)) == 800
