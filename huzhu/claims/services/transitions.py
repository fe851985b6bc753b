"""The generic transition and the named steps of domain.md's table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from ..error_codes import ClaimError, ClaimErrorCode
from ..events import ClaimEvent, _actor_id, claim_events_write
from ..ledger import ledger_lock
from ..models import (
    Claim,
    ClaimStatus,
    MemberYearLedger,
)
from ..workflow import check_transition
from .inputs import (
    CLAIMANT_FIELDS,
    AmountSource,
    _check_amount,
    _check_complete,
    _clean_data,
    _jsonable,
    _require_reason,
    _resolve_amount,
    _save_checked,
)
from .messages import _notify

S = ClaimStatus
E = ClaimErrorCode


def claim_transition(
    *,
    claim: Claim,
    to_status: str,
    acting_user,
    reason: str = "",
    changes: dict | None = None,
    prepare: Callable[[Claim, MemberYearLedger | None], dict] | None = None,
    lock_ledger: bool = False,
    audit_action: str = "",
) -> Claim:
    """Move an existing claim to `to_status`; returns the updated claim (use it, not `claim`).

    Locks the member-year ledger row first when `lock_ledger` (steps that change the year's
    money: approve, void), then the claim row; re-reads the claim under the lock and checks
    the step (table, role, scope). `changes` are field values to set with the step; `prepare`
    computes more of them under the locks. Writes the claim with `update_fields`, one
    `ClaimTransition` and one audit event, all in one transaction, and notifies the member
    on commit.
    """
    with transaction.atomic():
        ledger = (
            ledger_lock(member_id=claim.member_id, scheme_year_id=claim.scheme_year_id)
            if lock_ledger
            else None
        )
        locked = (
            Claim.objects.select_for_update(of=("self",))
            .select_related("member", "scheme_year")
            .get(pk=claim.pk)
        )
        from_status = locked.status
        kind = check_transition(locked, from_status, to_status, acting_user)
        field_changes = dict(changes or {})
        if prepare is not None:
            field_changes.update(prepare(locked, ledger))
        before = {"status": from_status}
        before.update({k: _jsonable(getattr(locked, k)) for k in field_changes})
        for name, value in field_changes.items():
            setattr(locked, name, value)
        now = timezone.now()
        locked.status = to_status
        locked.status_changed_at = now
        locked.status_reason = reason
        update = {"status", "status_changed_at", "status_reason", "updated_at", *field_changes}
        if to_status == S.SUBMITTED:
            _check_complete(locked)
            if locked.submitted_at is None:
                locked.submitted_at = now
                update.add("submitted_at")
        elif to_status == S.APPROVED:
            locked.approved_at = now
            update.add("approved_at")
        elif to_status == S.PAID:
            if locked.paid_at is None:
                locked.paid_at = now
                update.add("paid_at")
            locked.is_fixed = True  # paid is fixed (domain.md)
            update.add("is_fixed")
        if {"invoice_number", "settlement_id"} & field_changes.keys():
            _save_checked(locked, update_fields=sorted(update))
        else:
            locked.save(update_fields=sorted(update))
        claim_events_write(
            [
                ClaimEvent(
                    claim_id=locked.pk,
                    from_status=from_status,
                    to_status=to_status,
                    actor_id=_actor_id(acting_user),
                    reason=reason,
                    action=audit_action,
                    before=before,
                    after={
                        "status": to_status,
                        **{k: _jsonable(v) for k, v in field_changes.items()},
                    },
                )
            ],
            at=now,
        )
        _notify(locked, from_status, kind, reason)
    return locked


# --- the named steps -----------------------------------------------------------------------


def claim_union_review(*, claim: Claim, acting_user, reason: str = "") -> Claim:
    """The member's union passes its first review: `submitted -> union_reviewed`."""
    return claim_transition(
        claim=claim, to_status=S.UNION_REVIEWED, acting_user=acting_user, reason=reason
    )


def claim_return(*, claim: Claim, acting_user, reason: str) -> Claim:
    """Send a claim back to its claimant with what to fix (reason required)."""
    reason = _require_reason(reason, _("退回原因（需要修改的内容）"))
    return claim_transition(
        claim=claim, to_status=S.RETURNED, acting_user=acting_user, reason=reason
    )


def claim_resubmit(
    *, claim: Claim, acting_user, data: dict | None = None, reason: str = ""
) -> Claim:
    """The claimant corrects a returned claim (`data`) and sends it again."""
    return claim_transition(
        claim=claim,
        to_status=S.SUBMITTED,
        acting_user=acting_user,
        reason=reason,
        changes=_clean_data(data, CLAIMANT_FIELDS),
        audit_action="claim.resubmit",
    )


def claim_approve(
    *,
    claim: Claim,
    acting_user,
    amount: AmountSource | None = None,
    override_amount_fen: int | None = None,
    override_reason: str = "",
    reason: str = "",
) -> Claim:
    """A federation reviewer approves a claim.

    The amount is the engine's: `amount` (a ClaimAmount, or a callable run under the
    member-year lock), or the amount already on the claim (an auto-claim sent to review).
    `override_amount_fen` replaces it with the reviewer's figure: it needs `override_reason`,
    is audited, and makes the claim fixed; the engine's amount is kept
    (`override_computed_fen`), so later recomputes adjust by the change in the computed
    amount only.
    """
    if override_amount_fen is not None:
        _check_amount(override_amount_fen, "override_amount_fen")
        override_reason = _require_reason(override_reason, _("人工核定金额的原因"))

    def prepare(locked: Claim, ledger: MemberYearLedger | None) -> dict:
        changes = {}
        if amount is not None:
            changes.update(_resolve_amount(amount, locked, ledger))
        if override_amount_fen is not None:
            computed = changes.get("amount_fen", locked.amount_fen)
            changes.update(
                override_computed_fen=computed,
                amount_fen=override_amount_fen,
                is_fixed=True,
                override_amount_fen=override_amount_fen,
                override_reason=override_reason,
                override_by=acting_user,
                override_at=timezone.now(),
            )
        elif amount is None and locked.amount_fen is None:
            raise ClaimError(
                E.AMOUNT_REQUIRED,
                _("申请%(n)s尚无计算金额，请先计算或人工核定金额。") % {"n": locked.number},
                field="amount_fen",
            )
        return changes

    return claim_transition(
        claim=claim,
        to_status=S.APPROVED,
        acting_user=acting_user,
        reason=reason or override_reason,
        prepare=prepare,
        lock_ledger=True,
    )


def claim_reject(*, claim: Claim, acting_user, reason: str) -> Claim:
    """A federation reviewer rejects a claim; final, reason required."""
    reason = _require_reason(reason, _("不予通过的原因"))
    return claim_transition(
        claim=claim, to_status=S.REJECTED, acting_user=acting_user, reason=reason
    )


def claim_mark_paid(
    *, claim: Claim, acting_user=None, paid_at: dt.datetime | None = None, reason: str = ""
) -> Claim:
    """The bank confirmed the payment of one claim: `approved -> paid` (final, fixed).

    The same step as a bank return file's (`payment_steps.claims_mark_paid_many`, which it
    calls with this one claim); the member is told of this claim's payment. A claim of 0.00
    is never paid (it never enters a payment batch).
    """
    from ..payment_steps import claims_mark_paid_many

    with transaction.atomic():
        locked = (
            Claim.objects.select_for_update(of=("self",))
            .select_related("member", "scheme_year")
            .get(pk=claim.pk)
        )
        kind = check_transition(locked, locked.status, S.PAID, acting_user)
        if not locked.amount_fen:
            raise ClaimError(
                E.ZERO_AMOUNT_NOT_PAYABLE,
                _("申请%(n)s金额为0.00元，无需发放。") % {"n": locked.number},
            )
        claims_mark_paid_many(
            pays=Claim.objects.filter(pk=locked.pk).annotate(claim_id=F("id")),
            acting_user=acting_user,
            paid_at=paid_at or timezone.now(),
            reason=reason,
        )
        paid = Claim.objects.select_related("member", "scheme_year").get(pk=locked.pk)
        _notify(paid, S.APPROVED, kind, reason)
    return paid


def claim_void(*, claim: Claim, acting_user=None, reason: str) -> Claim:
    """The platform voids an unpaid claim: its record was reversed, or it is a duplicate.

    Holds the member-year lock; the caller recomputes the later stays of the year in the
    same transaction if it needs to (wrap both in one `transaction.atomic()`).
    """
    reason = _require_reason(reason, _("作废原因"))
    return claim_transition(
        claim=claim, to_status=S.VOID, acting_user=acting_user, reason=reason, lock_ledger=True
    )
