"""Claim writes: one function per transition of domain.md's table, plus the few changes that
are not transitions (payment failure, recompute, attaching a settlement record).

Every function is atomic: it locks what it changes (member-year ledger first, then the claim
row, see ledger.py), checks the step against the table and the actor's role and scope
(workflow.py), saves with `update_fields`, writes a `ClaimTransition` and an audit event, and
notifies the member when the transaction commits. A refused step raises `ClaimError` with a
stable `.code` and changes nothing.

`acting_user=None` means the platform itself (imports, one-stop, bank returns run by tasks).
Amounts are never computed here: callers pass the rules engine's result as `ClaimAmount`, or a
callable that computes it under the member-year lock.
"""

from .adjustments import (
    adjustment_create,
    adjustment_for_new_amount,
    adjustment_settle,
    claim_computed_fen,
    claim_effective_fen,
)
from .corrections import claim_attach_settlement, claim_recompute, claim_record_payment_failure
from .create import (
    OnestopClaimRows,
    claim_create_auto,
    claim_rows_onestop,
    claim_save_draft,
    claim_submit,
)
from .inputs import CLAIMANT_FIELDS, PLATFORM_FIELDS, AmountSource, ClaimAmount
from .repricing import (
    YearRepriced,
    YearWalk,
    claim_is_settled,
    claim_priced_fen,
    claim_stay_key,
    member_year_reprice,
    member_years_reprice,
    year_claims_locked,
)
from .transitions import (
    claim_approve,
    claim_mark_paid,
    claim_reject,
    claim_resubmit,
    claim_return,
    claim_transition,
    claim_union_review,
    claim_void,
)

__all__ = [
    "CLAIMANT_FIELDS",
    "PLATFORM_FIELDS",
    "AmountSource",
    "ClaimAmount",
    "OnestopClaimRows",
    "YearRepriced",
    "YearWalk",
    "claim_is_settled",
    "claim_priced_fen",
    "claim_stay_key",
    "member_year_reprice",
    "member_years_reprice",
    "year_claims_locked",
    "adjustment_create",
    "adjustment_for_new_amount",
    "claim_computed_fen",
    "claim_effective_fen",
    "adjustment_settle",
    "claim_approve",
    "claim_attach_settlement",
    "claim_create_auto",
    "claim_rows_onestop",
    "claim_mark_paid",
    "claim_record_payment_failure",
    "claim_recompute",
    "claim_reject",
    "claim_resubmit",
    "claim_return",
    "claim_save_draft",
    "claim_submit",
    "claim_transition",
    "claim_union_review",
    "claim_void",
]
