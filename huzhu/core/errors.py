"""The refusal every domain step raises for its input, whoever calls it (member pages, the
union counter, the review pages, the member API)."""

from __future__ import annotations

__all__ = ["StepRefused"]


class StepRefused(ValueError):
    """A step refused for its input (binding a login, filing a claim, changing the bank card,
    uploading a paper, a reviewer's amount): `code` is stable, `message` Chinese, `field` the
    input it concerns; `retry_after` seconds when a limit was hit; `claim` a claim the message
    refers to (e.g. the auto-claim of the stay)."""

    def __init__(self, code: str, message: str, *, field: str = "", retry_after: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.retry_after = retry_after
        self.claim = None
