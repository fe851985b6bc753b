"""Scoped reads: one Http404 for missing and not-yours; lists, filters and review queues."""

import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone

from huzhu.claims.models import ClaimFiler, ClaimStatus
from huzhu.claims.selectors import (
    ClaimFilters,
    access_claim_by_id,
    access_claim_by_number,
    claim_federation_review_queue,
    claim_list,
    claim_timeline,
    claim_union_review_queue,
)
from huzhu.claims.services import claim_submit, claim_union_review
from tests.factories import ClaimFactory

S = ClaimStatus
F = ClaimFiler


def claim_of(member, **kwargs):
    return ClaimFactory(enrollment=member.enrollments.get(), **kwargs)


def test_member_sees_only_own_claims_with_the_same_404(world):
    mine = claim_of(world.member)
    theirs = claim_of(world.other_member)
    assert access_claim_by_id(world.member_user, mine.pk) == mine
    with pytest.raises(Http404) as not_mine:
        access_claim_by_id(world.member_user, theirs.pk)
    with pytest.raises(Http404) as missing:
        access_claim_by_id(world.member_user, 999_999)
    assert str(not_mine.value) == str(missing.value)
    with pytest.raises(Http404):
        access_claim_by_id(world.member_user, "abc")
    assert list(claim_list(world.member_user)) == [mine]


def test_operator_sees_own_union_only_and_never_members_drafts(world):
    mine = claim_of(world.member)
    draft = claim_of(world.member, status=S.DRAFT)
    theirs = claim_of(world.other_member)
    assert access_claim_by_id(world.operator, mine.pk) == mine
    for hidden in (draft, theirs):
        with pytest.raises(Http404):
            access_claim_by_id(world.operator, hidden.pk)
    assert list(claim_list(world.operator)) == [mine]
    assert access_claim_by_id(world.member_user, draft.pk) == draft


def test_federation_sees_all_and_portal_staff_nothing(world):
    a, b = claim_of(world.member), claim_of(world.other_member)
    assert set(claim_list(world.reviewer)) == {a, b}
    assert set(claim_list(world.finance)) == {a, b}
    assert list(claim_list(world.editor)) == []
    assert access_claim_by_number(world.reviewer, a.number.lower()) == a
    with pytest.raises(Http404):
        access_claim_by_number(world.editor, a.number)


def test_claim_list_filters(world):
    auto = claim_of(world.member, source="auto", filer=F.PLATFORM, status=S.APPROVED)
    manual = claim_of(world.member, benefit_code="critical_illness")
    other = claim_of(world.other_member, status=S.APPROVED)
    reviewer = world.reviewer
    assert list(claim_list(reviewer, {"source": "auto"})) == [auto]
    assert list(claim_list(reviewer, {"benefit_code": "critical_illness"})) == [manual]
    assert set(claim_list(reviewer, {"status": [S.APPROVED]})) == {auto, other}
    assert set(claim_list(reviewer, {"union_id": world.w2.pk})) == {other}
    assert set(claim_list(reviewer, {"union_id": world.fed.pk})) == {auto, manual, other}
    assert set(claim_list(reviewer, ClaimFilters(scheme_year=2026))) == {auto, manual, other}
    assert list(claim_list(reviewer, {"scheme_year": 2025})) == []
    assert list(claim_list(reviewer, {"number": manual.number})) == [manual]
    with pytest.raises(ValueError):
        claim_list(reviewer, {"colour": "red"})


def test_union_queue_is_oldest_first_with_waited_time(world):
    now = timezone.now()
    newer = claim_of(world.member, status_changed_at=now - dt.timedelta(days=1))
    older = claim_of(world.member, status_changed_at=now - dt.timedelta(days=5))
    claim_of(world.member, filer=F.UNION_OPERATOR)  # goes to the federation directly
    claim_of(world.other_member)  # another union
    queue = list(claim_union_review_queue(world.operator))
    assert queue == [older, newer]
    assert dt.timedelta(days=4, hours=23) < queue[0].waited < dt.timedelta(days=5, hours=1)
    assert list(claim_union_review_queue(world.operator, {"min_wait_days": 3})) == [older]
    assert list(claim_union_review_queue(world.reviewer)) == []


def test_federation_queue_holds_union_reviewed_and_non_member_filed_claims(world):
    member_filed = claim_submit(
        acting_user=world.member_user,
        member=world.member,
        scheme_year=world.year,
        data={
            "benefit_code": "inpatient",
            "hospital_name": "医院",
            "admit_date": dt.date(2026, 2, 1),
            "discharge_date": dt.date(2026, 2, 3),
        },
    )
    platform_filed = claim_of(world.other_member, filer=F.PLATFORM)
    assert list(claim_federation_review_queue(world.reviewer)) == [platform_filed]
    reviewed = claim_union_review(claim=member_filed, acting_user=world.operator)
    assert list(claim_federation_review_queue(world.reviewer)) == [platform_filed, reviewed]
    assert list(claim_federation_review_queue(world.reviewer, {"union_id": world.w1.pk})) == [
        reviewed
    ]
    assert list(claim_federation_review_queue(world.operator)) == []
    assert [t.to_status for t in claim_timeline(reviewed)] == [S.SUBMITTED, S.UNION_REVIEWED]
