"""Adjustment items: money that moves after a claim is fixed (top-ups to pay, recoveries to net).

Created by recomputes and reversals that meet a fixed claim (domain.md "Claims: identity,
order, payees"); settled by the payments app as payment rows pay or net them, partly if need be.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huzhu.audit.services import audit_record

from ..error_codes import ClaimError, ClaimErrorCode
from ..models import AdjustmentItem, AdjustmentKind, AdjustmentStatus, Claim
from ..workflow import Actor, actor_kind
from .inputs import _check_amount, _require_reason

E = ClaimErrorCode
_ACTORS = frozenset({Actor.PLATFORM, Actor.FEDERATION_REVIEWER, Actor.FEDERATION_FINANCE})


def _require_actor(acting_user) -> None:
    if actor_kind(acting_user) not in _ACTORS:
        raise ClaimError(E.ROLE_NOT_ALLOWED, _("您的角色不能办理调整项。"))


def claim_effective_fen(claim: Claim) -> int:
    """What a claim is worth now: its amount plus top-ups minus recoveries."""
    total = claim.amount_fen or 0
    for item in claim.adjustments.all():
        total += item.amount_fen if item.kind == AdjustmentKind.TOP_UP else -item.amount_fen
    return total


def adjustment_for_new_amount(*, claim: Claim, new_fen: int, reason: str) -> AdjustmentItem | None:
    """A fixed claim whose stay is now worth `new_fen`: record the difference as a top-up or
    a recovery (nothing when it is worth what it was). The platform acts."""
    diff = new_fen - claim_effective_fen(claim)
    if not diff:
        return None
    return adjustment_create(
        claim=claim,
        kind=AdjustmentKind.TOP_UP if diff > 0 else AdjustmentKind.RECOVERY,
        amount_fen=abs(diff),
        reason=reason,
    )


def adjustment_create(
    *, claim: Claim, kind: str, amount_fen: int, reason: str, acting_user=None
) -> AdjustmentItem:
    """Record a top-up owed to, or a recovery owed by, the claim's member. Audited."""
    _require_actor(acting_user)
    if kind not in AdjustmentKind.values:
        raise ClaimError(E.INVALID_FIELD, _("未知的调整类型：%(k)s") % {"k": kind}, field="kind")
    _check_amount(amount_fen, "amount_fen")
    if amount_fen == 0:
        raise ClaimError(E.INVALID_AMOUNT, _("调整金额必须大于0。"), field="amount_fen")
    reason = _require_reason(reason, _("调整原因"))
    with transaction.atomic():
        item = AdjustmentItem.objects.create(
            member_id=claim.member_id,
            claim=claim,
            kind=kind,
            amount_fen=amount_fen,
            reason=reason,
            created_by=acting_user,
        )
        audit_record(
            actor=acting_user,
            action=f"adjustment.{kind}",
            obj=item,
            after={"claim": claim.number, "kind": kind, "amount_fen": amount_fen},
            reason=reason,
        )
    return item


def adjustment_settle(
    *, item: AdjustmentItem, amount_fen: int, reason: str = "", acting_user=None
) -> AdjustmentItem:
    """Settle `amount_fen` of an open item (a payment netted or paid it, maybe partly).

    Refused when the item is already settled or the amount exceeds what is outstanding.
    """
    _require_actor(acting_user)
    _check_amount(amount_fen, "amount_fen")
    if amount_fen == 0:
        raise ClaimError(E.INVALID_AMOUNT, _("结清金额必须大于0。"), field="amount_fen")
    with transaction.atomic():
        locked = AdjustmentItem.objects.select_for_update().get(pk=item.pk)
        if locked.status == AdjustmentStatus.SETTLED:
            raise ClaimError(E.ADJUSTMENT_SETTLED, _("该调整项已结清。"))
        if amount_fen > locked.outstanding_fen:
            raise ClaimError(
                E.ADJUSTMENT_OVERSETTLED,
                _("结清金额超过未结清余额（%(left)s分）。") % {"left": locked.outstanding_fen},
                field="amount_fen",
            )
        before = {"settled_amount_fen": locked.settled_amount_fen, "status": locked.status}
        locked.settled_amount_fen += amount_fen
        if locked.settled_amount_fen == locked.amount_fen:
            locked.status = AdjustmentStatus.SETTLED
            locked.settled_at = timezone.now()
        locked.save(update_fields=["settled_amount_fen", "status", "settled_at"])
        audit_record(
            actor=acting_user,
            action="adjustment.settle",
            obj=locked,
            before=before,
            after={"settled_amount_fen": locked.settled_amount_fen, "status": locked.status},
            reason=reason,
        )
    return locked
