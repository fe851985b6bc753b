"""The claim state machine of domain.md "Claim states and transitions", as data.

`TRANSITIONS[(from, to)]` is the set of actor kinds that may make the step (`None` as `from`
is a new claim). Any pair not in the table is refused. On top of the role, `check_actor`
applies the scope rules: a member acts only on their own claims, a union operator only on
claims of its union (and the unions below it, as `union_visible_ids` defines scope); a
federation reviewer decides a `submitted` claim only when the platform or a union operator
filed it (a member's claim is reviewed by the union first); a returned claim is resubmitted
by its claimant.

Reading of the table where it could be read two ways:
- `submitted -> returned` has its own row (union operator, federation reviewer) with no
  restriction, so a reviewer may return a member-filed claim that the union has not reviewed.
- "the claimant" of a returned claim: the member (it is their claim, whoever filed it), and a
  union operator of the claim's union when a union operator or the platform filed it.
- `approved -> paid` ("payments: the bank confirmed it"): the platform, or a federation
  finance user applying the bank's return file.
- Administrators and portal staff make no claim transitions (the table does not list them).
- A claim the platform filed (an auto-claim sent to review) has no claimant who could
  correct it: it is never returned, only approved or rejected.
- The union's first review (`submitted -> union_reviewed | returned` by a union operator) is
  of member-filed claims; a claim a union operator or the platform filed goes straight to the
  federation.
"""

from enum import StrEnum

from django.utils.translation import gettext as _

from huzhu.organizations.models import Role
from huzhu.organizations.selectors import union_visible_ids

from .error_codes import ClaimError, ClaimErrorCode
from .models import ClaimFiler, ClaimStatus

S = ClaimStatus
NEW = None


class Actor(StrEnum):
    PLATFORM = "platform"
    MEMBER = "member"
    UNION_OPERATOR = "union_operator"
    FEDERATION_REVIEWER = "federation_reviewer"
    FEDERATION_FINANCE = "federation_finance"
    OTHER = "other"


A = Actor

TRANSITIONS: dict[tuple[str | None, str], frozenset[Actor]] = {
    (NEW, S.DRAFT): frozenset({A.MEMBER}),
    (NEW, S.SUBMITTED): frozenset({A.MEMBER, A.UNION_OPERATOR, A.PLATFORM}),
    (S.DRAFT, S.SUBMITTED): frozenset({A.MEMBER, A.UNION_OPERATOR}),
    (NEW, S.APPROVED): frozenset({A.PLATFORM}),
    (S.SUBMITTED, S.UNION_REVIEWED): frozenset({A.UNION_OPERATOR}),
    (S.SUBMITTED, S.RETURNED): frozenset({A.UNION_OPERATOR, A.FEDERATION_REVIEWER}),
    (S.SUBMITTED, S.APPROVED): frozenset({A.FEDERATION_REVIEWER}),
    (S.SUBMITTED, S.REJECTED): frozenset({A.FEDERATION_REVIEWER}),
    (S.UNION_REVIEWED, S.APPROVED): frozenset({A.FEDERATION_REVIEWER}),
    (S.UNION_REVIEWED, S.REJECTED): frozenset({A.FEDERATION_REVIEWER}),
    (S.UNION_REVIEWED, S.RETURNED): frozenset({A.FEDERATION_REVIEWER}),
    (S.RETURNED, S.SUBMITTED): frozenset({A.MEMBER, A.UNION_OPERATOR}),
    (S.APPROVED, S.PAID): frozenset({A.PLATFORM, A.FEDERATION_FINANCE}),
    (S.SUBMITTED, S.VOID): frozenset({A.PLATFORM}),
    (S.UNION_REVIEWED, S.VOID): frozenset({A.PLATFORM}),
    (S.APPROVED, S.VOID): frozenset({A.PLATFORM}),
}

_ROLE_ACTOR = {
    Role.MEMBER: A.MEMBER,
    Role.UNION_OPERATOR: A.UNION_OPERATOR,
    Role.FEDERATION_REVIEWER: A.FEDERATION_REVIEWER,
    Role.FEDERATION_FINANCE: A.FEDERATION_FINANCE,
}

FILER_OF_ACTOR = {
    A.PLATFORM: ClaimFiler.PLATFORM,
    A.MEMBER: ClaimFiler.MEMBER,
    A.UNION_OPERATOR: ClaimFiler.UNION_OPERATOR,
}


def actor_kind(user) -> Actor:
    """Which column of the table a user acts in; `None` is the platform itself."""
    if user is None:
        return A.PLATFORM
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return A.OTHER
    return _ROLE_ACTOR.get(user.role, A.OTHER)


def status_label(status: str | None) -> str:
    return _("新建") if status is None else str(ClaimStatus(status).label)


def is_allowed_pair(from_status: str | None, to_status: str) -> bool:
    return (from_status, to_status) in TRANSITIONS


def _member_id_of(user) -> int | None:
    from huzhu.members.models import Member

    return Member.objects.filter(user_id=user.pk).values_list("id", flat=True).first()


def check_transition(claim, from_status: str | None, to_status: str, user) -> Actor:
    """Refuse (ClaimError) unless `user` may move `claim` from `from_status` to `to_status`.

    `claim` needs `member_id`, `union_id`, `filer` and `number` (it may be unsaved for a new
    claim). Returns the actor kind.
    """
    allowed = TRANSITIONS.get((from_status, to_status))
    if allowed is None:
        raise ClaimError(
            ClaimErrorCode.TRANSITION_NOT_ALLOWED,
            _("申请%(number)s当前状态为“%(from)s”，不能变更为“%(to)s”。")
            % {
                "number": claim.number or "",
                "from": status_label(from_status),
                "to": status_label(to_status),
            },
        )
    kind = actor_kind(user)
    if kind not in allowed:
        raise ClaimError(
            ClaimErrorCode.ROLE_NOT_ALLOWED,
            _("您的角色不能把申请从“%(from)s”变更为“%(to)s”。")
            % {"from": status_label(from_status), "to": status_label(to_status)},
        )
    if kind == A.MEMBER and _member_id_of(user) != claim.member_id:
        raise ClaimError(ClaimErrorCode.OUT_OF_SCOPE, _("只能办理本人的申请。"))
    if kind == A.UNION_OPERATOR:
        visible = union_visible_ids(user)
        if visible is not None and claim.union_id not in visible:
            raise ClaimError(ClaimErrorCode.OUT_OF_SCOPE, _("只能办理本工会职工的申请。"))
    if (
        kind == A.FEDERATION_REVIEWER
        and from_status == S.SUBMITTED
        and to_status in (S.APPROVED, S.REJECTED)
        and claim.filer == ClaimFiler.MEMBER
    ):
        raise ClaimError(
            ClaimErrorCode.NEEDS_UNION_REVIEW,
            _("职工本人提交的申请须先经工会初审，才能由市总工会审核。"),
        )
    if kind == A.UNION_OPERATOR and from_status == S.SUBMITTED and claim.filer != ClaimFiler.MEMBER:
        raise ClaimError(
            ClaimErrorCode.ROLE_NOT_ALLOWED,
            _("该申请不是职工本人提交的，无需工会初审，由市总工会审核。"),
        )
    if to_status == S.RETURNED and claim.filer == ClaimFiler.PLATFORM:
        raise ClaimError(
            ClaimErrorCode.NO_CLAIMANT,
            _("申请%(number)s由平台自动受理，没有申请人可以修改，不能退回；请核准或不予通过。")
            % {"number": claim.number or ""},
        )
    if (
        kind == A.UNION_OPERATOR
        and from_status == S.RETURNED
        and to_status == S.SUBMITTED
        and claim.filer == ClaimFiler.MEMBER
    ):
        raise ClaimError(
            ClaimErrorCode.NOT_CLAIMANT, _("该申请由职工本人提交，须由职工本人修改后重新提交。")
        )
    return kind


def allowed_steps(user, claim) -> list[str]:
    """The statuses `user` may move `claim` to now, in the table's order: the same checks
    as `check_transition` (table, role, scope, filer), so a page offers exactly the steps
    the services accept."""
    steps = []
    for (from_status, to_status), _actors in TRANSITIONS.items():
        if from_status != claim.status:
            continue
        try:
            check_transition(claim, from_status, to_status, user)
        except ClaimError:
            continue
        steps.append(to_status)
    return steps
