"""Stable error codes of the payments app. Tests and commands match the code, not the text."""

from enum import StrEnum


class PaymentErrorCode(StrEnum):
    ROLE_NOT_ALLOWED = "role_not_allowed"  # only federation finance (or the platform)
    BAD_FILTER = "bad_filter"  # an unknown payee kind, union code, date range…
    NOTHING_TO_PAY = "nothing_to_pay"  # no payable claim passed the filters
    WRONG_STATE = "wrong_state"  # the step does not fit the batch's state
    NOT_EXPORTED = "not_exported"  # mark sent before any bank file was exported
    CLAIMS_CHANGED = "claims_changed"  # a claim of the batch was voided or recomputed
    RETURN_MISMATCH = "return_mismatch"  # the return file does not match the batch
    OTHER_RETURN_APPLIED = "other_return_applied"  # a different return file was applied
    BAD_FORMAT = "bad_format"  # an unknown export format


class PaymentError(Exception):
    """A refused payment step. `code` is stable; `message` is for people (Chinese);
    `problems` lists per-row problems (RowProblem) when there are any."""

    def __init__(self, code: PaymentErrorCode, message: str, *, problems=None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.problems = list(problems or [])

    def __repr__(self) -> str:
        return f"PaymentError({self.code!s}, {self.message!r})"
