"""Stable error codes of the claims app. Tests and API clients match the code, not the text."""

from enum import StrEnum


class ClaimErrorCode(StrEnum):
    # The state machine (domain.md "Claim states and transitions")
    TRANSITION_NOT_ALLOWED = "transition_not_allowed"  # from -> to is not in the table
    ROLE_NOT_ALLOWED = "role_not_allowed"  # the actor's role may not make this step
    OUT_OF_SCOPE = "out_of_scope"  # not the actor's own member / union
    NEEDS_UNION_REVIEW = "needs_union_review"  # member-filed: the union reviews first
    NOT_CLAIMANT = "not_claimant"  # only the claimant resubmits a returned claim
    NO_CLAIMANT = "no_claimant"  # the platform filed it: nobody to return it to
    # Inputs
    REASON_REQUIRED = "reason_required"
    AMOUNT_REQUIRED = "amount_required"
    INVALID_AMOUNT = "invalid_amount"
    INVALID_FIELD = "invalid_field"
    INCOMPLETE = "incomplete"
    WRONG_SCHEME_YEAR = "wrong_scheme_year"
    NOT_ENROLLED = "not_enrolled"
    DUPLICATE_SETTLEMENT = "duplicate_settlement"
    DUPLICATE_INVOICE = "duplicate_invoice"
    ZERO_AMOUNT_NOT_PAYABLE = "zero_amount_not_payable"
    # Adjustment items
    ADJUSTMENT_SETTLED = "adjustment_settled"
    ADJUSTMENT_OVERSETTLED = "adjustment_oversettled"


class ClaimError(Exception):
    """A refused claim action. `code` is stable; `message` is for people (Chinese).

    `field` names the offending input field when there is one.
    """

    def __init__(self, code: ClaimErrorCode, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"ClaimError({self.code!s}, {self.message!r})"
