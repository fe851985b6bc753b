"""Role and scope: who may make which step (domain.md "Roles" and the transition table)."""

import pytest

from huzhu.audit.models import AuditEvent
from huzhu.claims import services
from huzhu.claims.error_codes import ClaimError, ClaimErrorCode
from huzhu.claims.models import Claim, ClaimFiler, ClaimStatus
from tests.factories import ClaimFactory

S = ClaimStatus
F = ClaimFiler
E = ClaimErrorCode


def make_claim(world, status, filer=F.MEMBER, member=None):
    member = member or world.member
    return ClaimFactory(enrollment=member.enrollments.get(), status=status, filer=filer)


def refused(code, call):
    with pytest.raises(ClaimError) as err:
        call()
    assert err.value.code == code, err.value.message
    assert err.value.message  # a Chinese sentence for people
    return err.value


AMOUNT = services.ClaimAmount(amount_fen=100_000)


def test_reviewer_cannot_decide_member_filed_claim_before_union_review(world):
    claim = make_claim(world, S.SUBMITTED, filer=F.MEMBER)
    refused(
        E.NEEDS_UNION_REVIEW,
        lambda: services.claim_approve(claim=claim, acting_user=world.reviewer, amount=AMOUNT),
    )
    refused(
        E.NEEDS_UNION_REVIEW,
        lambda: services.claim_reject(claim=claim, acting_user=world.reviewer, reason="不符"),
    )
    assert Claim.objects.get(pk=claim.pk).status == S.SUBMITTED
    assert not AuditEvent.objects.exists()


def test_reviewer_may_return_member_filed_claim_directly(world):
    claim = make_claim(world, S.SUBMITTED, filer=F.MEMBER)
    result = services.claim_return(claim=claim, acting_user=world.reviewer, reason="补材料")
    assert result.status == S.RETURNED


def test_operator_of_another_union_is_out_of_scope(world):
    claim = make_claim(world, S.SUBMITTED)
    refused(
        E.OUT_OF_SCOPE,
        lambda: services.claim_union_review(claim=claim, acting_user=world.other_operator),
    )
    refused(
        E.OUT_OF_SCOPE,
        lambda: services.claim_return(claim=claim, acting_user=world.other_operator, reason="x"),
    )


def test_operator_of_parent_union_may_review_descendant_unions_claims(world):
    from huzhu.organizations.models import Role
    from tests.factories import UserFactory

    fed_operator = UserFactory(role=Role.UNION_OPERATOR, union=world.fed)
    claim = make_claim(world, S.SUBMITTED)
    assert services.claim_union_review(claim=claim, acting_user=fed_operator).status == (
        S.UNION_REVIEWED
    )


def test_member_cannot_act_on_someone_elses_claim(world):
    claim = make_claim(world, S.DRAFT)
    refused(
        E.OUT_OF_SCOPE,
        lambda: services.claim_submit(claim=claim, acting_user=world.other_member_user),
    )
    returned = make_claim(world, S.RETURNED)
    refused(
        E.OUT_OF_SCOPE,
        lambda: services.claim_resubmit(claim=returned, acting_user=world.other_member_user),
    )


def test_operator_cannot_resubmit_a_claim_the_member_filed(world):
    claim = make_claim(world, S.RETURNED, filer=F.MEMBER)
    refused(
        E.NOT_CLAIMANT, lambda: services.claim_resubmit(claim=claim, acting_user=world.operator)
    )


@pytest.mark.parametrize("actor", ["member_user", "operator", "finance", "admin", "editor", None])
def test_only_federation_reviewer_approves(world, actor):
    claim = make_claim(world, S.UNION_REVIEWED)
    user = getattr(world, actor) if actor else None
    refused(
        E.ROLE_NOT_ALLOWED,
        lambda: services.claim_approve(claim=claim, acting_user=user, amount=AMOUNT),
    )


@pytest.mark.parametrize("actor", ["member_user", "reviewer", "finance"])
def test_only_union_operator_does_first_review(world, actor):
    claim = make_claim(world, S.SUBMITTED)
    refused(
        E.ROLE_NOT_ALLOWED,
        lambda: services.claim_union_review(claim=claim, acting_user=getattr(world, actor)),
    )


@pytest.mark.parametrize("actor", ["member_user", "operator", "reviewer", "finance", "admin"])
def test_only_the_platform_voids(world, actor):
    claim = make_claim(world, S.APPROVED)
    refused(
        E.ROLE_NOT_ALLOWED,
        lambda: services.claim_void(claim=claim, acting_user=getattr(world, actor), reason="x"),
    )


@pytest.mark.parametrize("actor", ["member_user", "operator", "reviewer"])
def test_only_payments_mark_paid(world, actor):
    claim = make_claim(world, S.APPROVED)
    refused(
        E.ROLE_NOT_ALLOWED,
        lambda: services.claim_mark_paid(claim=claim, acting_user=getattr(world, actor)),
    )


def test_inactive_user_makes_no_step(world):
    world.reviewer.is_active = False
    world.reviewer.save()
    claim = make_claim(world, S.UNION_REVIEWED)
    refused(
        E.ROLE_NOT_ALLOWED,
        lambda: services.claim_approve(claim=claim, acting_user=world.reviewer, amount=AMOUNT),
    )


def test_reasons_are_required_for_return_reject_void(world):
    claim = make_claim(world, S.UNION_REVIEWED)
    refused(
        E.REASON_REQUIRED,
        lambda: services.claim_return(claim=claim, acting_user=world.reviewer, reason="  "),
    )
    refused(
        E.REASON_REQUIRED,
        lambda: services.claim_reject(claim=claim, acting_user=world.reviewer, reason=""),
    )
    refused(E.REASON_REQUIRED, lambda: services.claim_void(claim=claim, reason=""))
    assert Claim.objects.get(pk=claim.pk).status == S.UNION_REVIEWED


def test_operator_files_for_own_member_only(world):
    refused(
        E.OUT_OF_SCOPE,
        lambda: services.claim_submit(
            acting_user=world.other_operator,
            member=world.member,
            scheme_year=world.year,
            data={"benefit_code": "inpatient", "hospital_name": "医院"},
        ),
    )
    assert not Claim.objects.exists()


def test_member_files_for_self_only_and_operator_may_not_save_drafts(world):
    data = {"benefit_code": "inpatient"}
    refused(
        E.OUT_OF_SCOPE,
        lambda: services.claim_save_draft(
            acting_user=world.member_user,
            member=world.other_member,
            scheme_year=world.year,
            data=data,
        ),
    )
    refused(
        E.ROLE_NOT_ALLOWED,
        lambda: services.claim_save_draft(
            acting_user=world.operator, member=world.member, scheme_year=world.year, data=data
        ),
    )
    assert not Claim.objects.exists()
