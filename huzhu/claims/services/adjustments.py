"""Adjustment items: money that moves after a claim is fixed (top-ups to pay, recoveries to net).

Created by recomputes and reversals that meet a fixed claim (domain.md "Claims: identity,
order, payees"); settled by the payments app as payment rows pay or net them, partly if need be.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huzhu.audit.services import audit_record
from huzhu.core.money import format_fen

from ..error_codes import ClaimError, ClaimErrorCode
from ..models import AdjustmentItem, AdjustmentKind, AdjustmentStatus, Claim, PayeeKind
from ..notifications import notify_member
from ..workflow import Actor, actor_kind
from .inputs import _check_amount, _require_reason

E = ClaimErrorCode
_ACTORS = frozenset({Actor.PLATFORM, Actor.FEDERATION_REVIEWER, Actor.FEDERATION_FINANCE})


def _require_actor(acting_user) -> None:
    if actor_kind(acting_user) not in _ACTORS:
        raise ClaimError(E.ROLE_NOT_ALLOWED, _("您的角色不能办理调整项。"))


def _net_adjustments_fen(claim: Claim) -> int:
    total = 0
    for item in claim.adjustments.all():
        total += item.amount_fen if item.kind == AdjustmentKind.TOP_UP else -item.amount_fen
    return total


def claim_effective_fen(claim: Claim) -> int:
    """What a claim is worth to its payee now: its amount plus top-ups minus recoveries."""
    return (claim.amount_fen or 0) + _net_adjustments_fen(claim)


def claim_computed_fen(claim: Claim) -> int:
    """The engine's amount of a claim: for a reviewer's override, the amount the engine gave
    before the reviewer overrode it; otherwise the claim's amount."""
    if claim.override_amount_fen is not None and claim.override_computed_fen is not None:
        return claim.override_computed_fen
    return claim.amount_fen or 0


def adjustment_for_new_amount(*, claim: Claim, new_fen: int, reason: str) -> AdjustmentItem | None:
    """A fixed claim whose stay the engine now prices at `new_fen`: the change in its computed
    amount since it became fixed (minus what earlier items already moved) becomes a top-up or
    a recovery; nothing when the computed amount did not move. A reviewer's override is a
    decision: its own difference is never clawed back (domain.md). The platform acts."""
    diff = new_fen - (claim_computed_fen(claim) + _net_adjustments_fen(claim))
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
        _notify_adjustment(claim, item)
    return item


def _notify_adjustment(claim: Claim, item: AdjustmentItem) -> None:
    """Every adjustment item is told to the member, with its amount and reason (domain.md)."""
    ctx = {"n": claim.number, "amt": format_fen(item.amount_fen), "r": item.reason}
    if claim.payee_kind == PayeeKind.HOSPITAL:
        text = (
            _(
                "您在医院结算时减免的申请（%(n)s）需补付%(amt)s元：%(r)s。该款项与医院结算，您无需办理。"
            )
            if item.kind == AdjustmentKind.TOP_UP
            else _(
                "您在医院结算时减免的申请（%(n)s）需追回%(amt)s元：%(r)s。该款项与医院结算，您无需办理。"
            )
        ) % ctx
    elif item.kind == AdjustmentKind.TOP_UP:
        text = _("您的申请（%(n)s）将补发互助金%(amt)s元：%(r)s。补发款随下一批次发放。") % ctx
    else:
        text = _("您的申请（%(n)s）需追回互助金%(amt)s元：%(r)s。将从您以后的互助金中抵扣。") % ctx
    notify_member(member=claim.member, kind=f"adjustment_{item.kind}", text=text, claim=claim)


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
