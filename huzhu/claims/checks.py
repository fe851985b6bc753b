"""Checks of a stay's figures and of an invoice, shared by every channel that files a claim.

Plain functions over plain values (no ORM). The settlement import runs the same stay checks
as polars expressions (`huzhu.settlements.frames.review_reason_expr`: an auto-claim that
fails them goes to a reviewer), in the same words; a manual claim that fails them is
refused, naming the field. A manual claim is also refused when known parts alone exceed the
total (a form need not give every part; an import row always has them).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

__all__ = [
    "MAX_STAY_DAYS",
    "InvoiceIdentity",
    "invoice_identity",
    "invoice_number_normalize",
    "stay_problems",
]

MAX_STAY_DAYS = 365


def _yuan(fen: int) -> str:
    """1234.56, as the import's messages write amounts (no separators)."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def stay_problems(
    *,
    admit: date | None,
    discharge: date | None,
    total_cost_fen: int | None,
    fund_paid_fen: int | None,
    self_pay_in_policy_fen: int | None,
    self_pay_out_policy_fen: int | None,
) -> list[tuple[str, str]]:
    """(field, message) for each impossible figure of a stay: the parts (fund paid, self-pay
    in and out of policy) that do not add up to the total cost (all four known), or known
    parts that already exceed it; a stay longer than 365 days."""
    problems: list[tuple[str, str]] = []
    parts = (fund_paid_fen, self_pay_in_policy_fen, self_pay_out_policy_fen)
    known = sum(p for p in parts if p is not None)
    if total_cost_fen is not None:
        if all(p is not None for p in parts) and known != total_cost_fen:
            problems.append(
                (
                    "total_cost_fen",
                    f"金额不符：统筹基金支付+政策范围内个人负担+政策范围外自费={_yuan(known)}元，"
                    f"医疗总费用为{_yuan(total_cost_fen)}元",
                )
            )
        elif known > total_cost_fen:
            problems.append(
                (
                    "total_cost_fen",
                    f"金额不符：已填的统筹基金支付、政策范围内个人负担、政策范围外自费合计"
                    f"{_yuan(known)}元，超过医疗总费用{_yuan(total_cost_fen)}元",
                )
            )
    if admit is not None and discharge is not None:
        days = (discharge - admit).days
        if days > MAX_STAY_DAYS:
            problems.append(("discharge_date", f"住院天数超过{MAX_STAY_DAYS}天（{days}天）"))
    return problems


def invoice_number_normalize(value: str | None) -> str:
    """An invoice code or number as compared: full-width to half-width, no white space,
    upper case."""
    text = unicodedata.normalize("NFKC", value or "")
    return "".join(text.split()).upper()


@dataclass(frozen=True)
class InvoiceIdentity:
    """What identifies an invoice: its code (发票代码, empty when unknown) and number."""

    code: str
    number: str


class InvoiceMismatch(ValueError):
    """The typed invoice number is not the one the invoice's QR code carries."""

    def __init__(self, typed: str, read: str) -> None:
        self.typed = typed
        self.read = read
        super().__init__(
            f"填写的发票号码“{typed}”与发票二维码中的号码“{read}”不一致，请核对后重新填写"
        )


def invoice_identity(*, typed_number: str | None, qr_codes: list[dict]) -> InvoiceIdentity:
    """The invoice identity of a manual claim: from the QR code read on an uploaded invoice
    when there is one (code + number), else the typed number. A typed number that differs
    from the QR's raises InvoiceMismatch with both values."""
    typed = invoice_number_normalize(typed_number)
    read = [q for q in qr_codes if q and q.get("number")]
    if not read:
        return InvoiceIdentity(code="", number=typed)
    qr = read[0]
    number = invoice_number_normalize(qr["number"])
    if typed and typed != number:
        raise InvoiceMismatch(typed_number.strip(), str(qr["number"]))
    return InvoiceIdentity(code=invoice_number_normalize(qr.get("code")), number=number)
