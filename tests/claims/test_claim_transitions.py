"""Every transition of domain.md's table through its service, and every pair not in it refused."""

import itertools

import pytest

from huzhu.audit.models import AuditEvent
from huzhu.claims import services
from huzhu.claims.error_codes import ClaimError, ClaimErrorCode
from huzhu.claims.models import Claim, ClaimFiler, ClaimStatus, ClaimTransition, Notification
from huzhu.claims.workflow import TRANSITIONS, check_transition
from tests.factories import ClaimFactory

S = ClaimStatus
F = ClaimFiler

# domain.md "Claim states and transitions", restated here (not imported) so a wrong table fails.
DOMAIN_PAIRS = {
    (None, S.DRAFT),
    (None, S.SUBMITTED),
    (S.DRAFT, S.SUBMITTED),
    (None, S.APPROVED),
    (S.SUBMITTED, S.UNION_REVIEWED),
    (S.SUBMITTED, S.RETURNED),
    (S.SUBMITTED, S.APPROVED),
    (S.SUBMITTED, S.REJECTED),
    (S.UNION_REVIEWED, S.APPROVED),
    (S.UNION_REVIEWED, S.REJECTED),
    (S.UNION_REVIEWED, S.RETURNED),
    (S.RETURNED, S.SUBMITTED),
    (S.APPROVED, S.PAID),
    (S.SUBMITTED, S.VOID),
    (S.UNION_REVIEWED, S.VOID),
    (S.APPROVED, S.VOID),
}
ALL = list(S.values)
REFUSED_EXISTING = [(a, b) for a, b in itertools.product(ALL, ALL) if (a, b) not in DOMAIN_PAIRS]
REFUSED_NEW = [b for b in ALL if (None, b) not in DOMAIN_PAIRS]


def make_claim(world, status, filer=F.MEMBER, member=None, **kwargs):
    member = member or world.member
    return ClaimFactory(enrollment=member.enrollments.get(), status=status, filer=filer, **kwargs)


def test_table_is_exactly_domain_md():
    assert set(TRANSITIONS) == DOMAIN_PAIRS


# (from, to, actor attribute on `world` or None for the platform, filer, call)
ALLOWED_CASES = [
    (
        S.DRAFT,
        S.SUBMITTED,
        "member_user",
        F.MEMBER,
        lambda c, u: services.claim_submit(claim=c, acting_user=u),
    ),
    (
        S.DRAFT,
        S.SUBMITTED,
        "operator",
        F.MEMBER,
        lambda c, u: services.claim_submit(claim=c, acting_user=u),
    ),
    (
        S.SUBMITTED,
        S.UNION_REVIEWED,
        "operator",
        F.MEMBER,
        lambda c, u: services.claim_union_review(claim=c, acting_user=u, reason="材料齐全"),
    ),
    (
        S.SUBMITTED,
        S.RETURNED,
        "operator",
        F.MEMBER,
        lambda c, u: services.claim_return(claim=c, acting_user=u, reason="请补出院小结"),
    ),
    (
        S.SUBMITTED,
        S.RETURNED,
        "reviewer",
        F.MEMBER,
        lambda c, u: services.claim_return(claim=c, acting_user=u, reason="发票不清晰"),
    ),
    (
        S.SUBMITTED,
        S.APPROVED,
        "reviewer",
        F.UNION_OPERATOR,
        lambda c, u: services.claim_approve(
            claim=c, acting_user=u, amount=services.ClaimAmount(amount_fen=125_000)
        ),
    ),
    (
        S.SUBMITTED,
        S.APPROVED,
        "reviewer",
        F.PLATFORM,
        lambda c, u: services.claim_approve(
            claim=c, acting_user=u, amount=services.ClaimAmount(amount_fen=125_000)
        ),
    ),
    (
        S.SUBMITTED,
        S.REJECTED,
        "reviewer",
        F.PLATFORM,
        lambda c, u: services.claim_reject(claim=c, acting_user=u, reason="非住院费用"),
    ),
    (
        S.UNION_REVIEWED,
        S.APPROVED,
        "reviewer",
        F.MEMBER,
        lambda c, u: services.claim_approve(
            claim=c, acting_user=u, amount=services.ClaimAmount(amount_fen=125_000)
        ),
    ),
    (
        S.UNION_REVIEWED,
        S.REJECTED,
        "reviewer",
        F.MEMBER,
        lambda c, u: services.claim_reject(claim=c, acting_user=u, reason="不属于保障范围"),
    ),
    (
        S.UNION_REVIEWED,
        S.RETURNED,
        "reviewer",
        F.MEMBER,
        lambda c, u: services.claim_return(claim=c, acting_user=u, reason="金额与发票不符"),
    ),
    (
        S.RETURNED,
        S.SUBMITTED,
        "member_user",
        F.MEMBER,
        lambda c, u: services.claim_resubmit(
            claim=c, acting_user=u, data={"invoice_number": "INV-2"}
        ),
    ),
    (
        S.RETURNED,
        S.SUBMITTED,
        "member_user",
        F.PLATFORM,
        lambda c, u: services.claim_resubmit(claim=c, acting_user=u),
    ),
    (
        S.RETURNED,
        S.SUBMITTED,
        "operator",
        F.UNION_OPERATOR,
        lambda c, u: services.claim_resubmit(claim=c, acting_user=u),
    ),
    (
        S.APPROVED,
        S.PAID,
        None,
        F.PLATFORM,
        lambda c, u: services.claim_mark_paid(claim=c, acting_user=u),
    ),
    (
        S.APPROVED,
        S.PAID,
        "finance",
        F.MEMBER,
        lambda c, u: services.claim_mark_paid(claim=c, acting_user=u),
    ),
    (
        S.SUBMITTED,
        S.VOID,
        None,
        F.MEMBER,
        lambda c, u: services.claim_void(claim=c, acting_user=u, reason="重复申请"),
    ),
    (
        S.UNION_REVIEWED,
        S.VOID,
        None,
        F.MEMBER,
        lambda c, u: services.claim_void(claim=c, acting_user=u, reason="重复申请"),
    ),
    (
        S.APPROVED,
        S.VOID,
        None,
        F.PLATFORM,
        lambda c, u: services.claim_void(claim=c, acting_user=u, reason="结算记录已冲正"),
    ),
]


@pytest.mark.parametrize(
    "from_status,to_status,actor,filer,call",
    ALLOWED_CASES,
    ids=[f"{a}->{b}-by-{u or 'platform'}-filed-by-{f}" for a, b, u, f, _ in ALLOWED_CASES],
)
def test_allowed_transition_writes_state_transition_audit_and_notification(
    world, django_capture_on_commit_callbacks, from_status, to_status, actor, filer, call
):
    claim = make_claim(world, from_status, filer=filer)
    user = getattr(world, actor) if actor else None

    with django_capture_on_commit_callbacks(execute=True):
        result = call(claim, user)

    stored = Claim.objects.get(pk=claim.pk)
    assert result.status == stored.status == to_status
    step = ClaimTransition.objects.get(claim=claim)
    assert (step.from_status, step.to_status, step.actor) == (from_status, to_status, user)
    event = AuditEvent.objects.get(object_type="claims.claim", object_id=str(claim.pk))
    assert event.actor == user
    assert event.before["status"] == from_status and event.after["status"] == to_status
    note = Notification.objects.get(claim=claim)
    assert note.kind == f"claim_{to_status}"
    assert claim.number in note.text
    assert note.sent_at is not None and note.channels == "console"


def test_every_allowed_existing_pair_has_a_case():
    covered = {(a, b) for a, b, *_ in ALLOWED_CASES}
    assert covered == {p for p in DOMAIN_PAIRS if p[0] is not None}


@pytest.mark.parametrize("from_status,to_status", REFUSED_EXISTING)
@pytest.mark.parametrize("actor", [None, "reviewer"])
def test_pair_not_in_table_is_refused_and_changes_nothing(
    world, django_capture_on_commit_callbacks, from_status, to_status, actor
):
    claim = make_claim(world, from_status, filer=F.PLATFORM)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(ClaimError) as err:
            services.claim_transition(
                claim=claim,
                to_status=to_status,
                acting_user=getattr(world, actor) if actor else None,
                reason="试一试",
            )
    assert err.value.code == ClaimErrorCode.TRANSITION_NOT_ALLOWED
    assert Claim.objects.get(pk=claim.pk).status == from_status
    assert not ClaimTransition.objects.filter(claim=claim).exists()
    assert not AuditEvent.objects.exists()
    assert not Notification.objects.exists()


@pytest.mark.parametrize("to_status", REFUSED_NEW)
def test_creating_a_claim_in_a_state_not_in_table_is_refused(world, to_status):
    claim = Claim(member=world.member, union=world.w1, filer=F.PLATFORM)
    with pytest.raises(ClaimError) as err:
        check_transition(claim, None, to_status, None)
    assert err.value.code == ClaimErrorCode.TRANSITION_NOT_ALLOWED


@pytest.mark.parametrize("status", [S.REJECTED, S.VOID, S.PAID])
def test_final_states_allow_nothing(world, status):
    claim = make_claim(world, status, filer=F.PLATFORM)
    for to_status in ALL:
        with pytest.raises(ClaimError) as err:
            services.claim_transition(claim=claim, to_status=to_status, acting_user=None)
        assert err.value.code == ClaimErrorCode.TRANSITION_NOT_ALLOWED
