"""Changes to a claim that are not transitions: payment failure, recompute, attaching a settlement record."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from huzhu.audit.services import audit_record
from huzhu.core.money import format_fen

from ..error_codes import ClaimError, ClaimErrorCode
from ..ledger import ledger_lock
from ..models import (
    Claim,
    ClaimStatus,
)
from ..notifications import notify_member
from ..workflow import Actor, actor_kind
from .inputs import (
    PLATFORM_FIELDS,
    AmountSource,
    _clean_data,
    _jsonable,
    _require_reason,
    _resolve_amount,
    _save_checked,
)

S = ClaimStatus
E = ClaimErrorCode


_RECOMPUTE_ACTORS = frozenset({Actor.PLATFORM, Actor.FEDERATION_REVIEWER})


def _require_actor(acting_user, allowed: frozenset[Actor]) -> None:
    if actor_kind(acting_user) not in allowed:
        raise ClaimError(E.ROLE_NOT_ALLOWED, _("您的角色不能办理此操作。"))


def claim_record_payment_failure(*, claim: Claim, reason: str, acting_user=None) -> Claim:
    """The bank refused the payment: the claim stays `approved`, with the failure recorded,
    ready for the next batch; a member payee is asked to check their bank account.

    The same step as a bank return file's (`payment_steps.claims_record_payment_failure_many`,
    which it calls with this one claim): same checks, fields, audit row and message."""
    from ..payment_steps import claims_record_payment_failure_many

    with transaction.atomic():
        claims_record_payment_failure_many(failures={claim.pk: reason}, acting_user=acting_user)
    return Claim.objects.select_related("member").get(pk=claim.pk)


def claim_recompute(
    *, claim: Claim, amount: AmountSource, reason: str, acting_user=None
) -> tuple[Claim, int]:
    """Store a new engine result on an unfixed, unpaid claim (late stay, reversal, new plan
    version). Returns (claim, the previous amount_fen or None). Fixed and final claims are
    refused: their differences become adjustment items (`adjustment_create`).

    Holds the member-year lock; audited; the member is told when the amount changed.
    """
    _require_actor(acting_user, _RECOMPUTE_ACTORS)
    reason = _require_reason(reason, _("重新计算的原因"))
    with transaction.atomic():
        ledger = ledger_lock(member_id=claim.member_id, scheme_year_id=claim.scheme_year_id)
        locked = (
            Claim.objects.select_for_update(of=("self",)).select_related("member").get(pk=claim.pk)
        )
        if locked.is_fixed or locked.is_final or locked.status == S.DRAFT:
            raise ClaimError(
                E.TRANSITION_NOT_ALLOWED,
                _("申请%(n)s（%(s)s%(f)s）不能重新计算，差额请作为调整项处理。")
                % {
                    "n": locked.number,
                    "s": locked.get_status_display(),
                    "f": _("，金额已锁定") if locked.is_fixed else "",
                },
            )
        old = locked.amount_fen
        changes = _resolve_amount(amount, locked, ledger)
        before = {k: _jsonable(getattr(locked, k)) for k in changes}
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save(update_fields=[*changes, "updated_at"])
        audit_record(
            actor=acting_user,
            action="claim.recompute",
            obj=locked,
            before=before,
            after={k: _jsonable(v) for k, v in changes.items()},
            reason=reason,
        )
        if old != locked.amount_fen and locked.amount_fen is not None:
            # Any change of amount is told: on a claim still in review it is the amount
            # the review starts from.
            ctx = {"n": locked.number, "amt": format_fen(locked.amount_fen), "r": reason}
            notify_member(
                member=locked.member,
                kind="claim_recomputed",
                text=(
                    _("您的申请（%(n)s）金额已重新计算为%(amt)s元：%(r)s")
                    if locked.status == S.APPROVED
                    else _("您的申请（%(n)s）正在审核，计算金额已更新为%(amt)s元：%(r)s")
                )
                % ctx,
                claim=locked,
            )
    return locked, old


def claim_attach_settlement(
    *, claim: Claim, settlement_id: str, stay: dict, reason: str = "", acting_user=None
) -> Claim:
    """Join a settlement record to the manual claim for the same stay (domain.md).

    The settlement id is always recorded. While the claim is neither fixed nor final the
    bureau's stay fields (authoritative) replace the claimant's; the caller then recomputes it
    (`claim_recompute`). On a fixed or paid claim only the id is recorded: the caller turns any
    difference into an adjustment item.
    """
    _require_actor(acting_user, frozenset({Actor.PLATFORM}))
    stay_data = _clean_data(stay, PLATFORM_FIELDS - {"settlement_id", "benefit_code"})
    settlement_id = (settlement_id or "").strip()
    if not settlement_id:
        raise ClaimError(E.INCOMPLETE, _("缺少结算流水号。"), field="settlement_id")
    with transaction.atomic():
        locked = Claim.objects.select_for_update().get(pk=claim.pk)
        if locked.status in (S.VOID, S.REJECTED):
            raise ClaimError(
                E.TRANSITION_NOT_ALLOWED,
                _("申请%(n)s已%(s)s，不能关联结算记录。")
                % {"n": locked.number, "s": locked.get_status_display()},
            )
        if locked.settlement_id and locked.settlement_id != settlement_id:
            raise ClaimError(
                E.INVALID_FIELD,
                _("申请%(n)s已关联结算流水号%(s)s。")
                % {"n": locked.number, "s": locked.settlement_id},
                field="settlement_id",
            )
        changes = {"settlement_id": settlement_id}
        if not (locked.is_fixed or locked.is_final):
            changes.update(stay_data)
        before = {k: _jsonable(getattr(locked, k)) for k in changes}
        for name, value in changes.items():
            setattr(locked, name, value)
        _save_checked(locked, update_fields=[*changes, "updated_at"])
        audit_record(
            actor=acting_user,
            action="claim.attach_settlement",
            obj=locked,
            before=before,
            after={k: _jsonable(v) for k, v in changes.items()},
            reason=reason,
        )
    return locked
