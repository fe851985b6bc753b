"""Outcome types of the benefit engine: statuses, reasons, breakdown."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

from huzhu.members.idnumbers import ID_ERROR_MESSAGES

from .amounts import AMOUNT_ERROR_MESSAGES

if TYPE_CHECKING:
    from ..schema import Plan

__all__ = [
    "OutcomeStatus",
    "STATUS_PRECEDENCE",
    "STATUS_LABELS",
    "BandPart",
    "StayBenefit",
    "LumpSumAward",
    "Outcome",
    "REASON_MESSAGES",
    "reason_message",
    "outcome_columns",
]


class OutcomeStatus(StrEnum):
    COVERED = "covered"
    NOT_ENROLLED = "not_enrolled"
    WAITING_PERIOD = "waiting_period"
    OUT_OF_PERIOD = "out_of_period"
    DUPLICATE = "duplicate"
    REVERSAL = "reversal"
    REVERSED = "reversed"
    INVALID = "invalid"


# domain.md "Outcome of a settlement record": the first that applies wins.
STATUS_PRECEDENCE = (
    OutcomeStatus.DUPLICATE,
    OutcomeStatus.REVERSAL,
    OutcomeStatus.REVERSED,
    OutcomeStatus.INVALID,
    OutcomeStatus.OUT_OF_PERIOD,
    OutcomeStatus.NOT_ENROLLED,
    OutcomeStatus.WAITING_PERIOD,
    OutcomeStatus.COVERED,
)

STATUS_LABELS = {
    OutcomeStatus.COVERED: "可补助",
    OutcomeStatus.NOT_ENROLLED: "未参保",
    OutcomeStatus.WAITING_PERIOD: "观察期内",
    OutcomeStatus.OUT_OF_PERIOD: "不在方案年度内",
    OutcomeStatus.DUPLICATE: "重复记录",
    OutcomeStatus.REVERSAL: "冲正记录",
    OutcomeStatus.REVERSED: "已被冲正",
    OutcomeStatus.INVALID: "数据有误",
}

# Reasons whose text does not depend on the row. Invalid reasons are built by
# `reason_message` from the field's source column and the error code.
REASON_MESSAGES = {
    "duplicate": "结算编号与文件中前面的记录重复，不重复计算",
    "reversal": "冲正（退费）记录，冲销被冲正的结算记录",
    "reversal_unmatched": "冲正（退费）记录，但未找到被冲正的结算记录，待人工复核",
    "reversed": "该结算记录已被冲正（退费），不予补助",
    "out_of_period": "出院日期不在方案年度内",
    "not_enrolled": "出院日期所在年度未参保",
    "waiting_period": "新参保人员在观察期内入院",
}

_INVALID_FIELD_MESSAGES = {
    "missing_settlement_id": "结算编号为空",
    "admit_date": "入院日期应为YYYY-MM-DD格式的有效日期",
    "discharge_date": "出院日期应为YYYY-MM-DD格式的有效日期",
    "discharge_before_admission": "出院日期早于入院日期",
}


def reason_message(code: str, source: str = "") -> str:
    """Message for a reason code; invalid ones name the offending source column."""
    if code in REASON_MESSAGES:
        return REASON_MESSAGES[code]
    if not code:
        return ""
    _, _, rest = code.partition(".")
    if rest.startswith("id_number."):
        text = ID_ERROR_MESSAGES[rest.split(".", 1)[1]]
    elif rest.startswith("base."):
        text = "金额" + AMOUNT_ERROR_MESSAGES[rest.split(".", 1)[1]]
    else:
        text = _INVALID_FIELD_MESSAGES[rest]
    return f"{source}：{text}" if source else text


class BandPart(NamedTuple):
    """One band's share of a stay: `base_fen` of excess in the band, paid at `ratio_units`/10000.

    `amount_fen` is that share rounded half up on its own, for display; the stay's
    benefit is the exact sum over bands rounded once (so band amounts may differ from
    it by a fen).
    """

    index: int
    lower_fen: int
    upper_fen: int | None
    ratio_units: int
    base_fen: int
    amount_fen: int


class StayBenefit(NamedTuple):
    """The inpatient benefit of one covered stay, with its breakdown."""

    key: str
    base_fen: int
    deductible_fen: int
    excess_fen: int
    bands: tuple[BandPart, ...]
    before_cap_fen: int
    cap_cut_fen: int
    amount_fen: int
    cumulative_excess_before_fen: int
    paid_before_fen: int


class LumpSumAward(NamedTuple):
    key: str
    benefit: str
    amount_fen: int
    diagnosis_code: str


class Outcome(NamedTuple):
    """One outcome row: the inpatient outcome of a record, or a lump sum it triggered."""

    row: int
    settlement_id: str
    benefit: str
    status: OutcomeStatus
    amount_fen: int = 0
    deductible_fen: int = 0
    base_fen: int | None = None
    excess_fen: int = 0
    bands: tuple[BandPart, ...] = ()
    before_cap_fen: int = 0
    cap_cut_fen: int = 0
    reason_code: str = ""
    reason: str = ""
    member: str = ""
    coverage_start: date | None = None
    reverses: str = ""

    def comparable(self) -> tuple:
        """Everything the two engines must agree on (used by the property test)."""
        return (
            self.row,
            self.settlement_id,
            self.benefit,
            str(self.status),
            self.amount_fen,
            self.deductible_fen,
            self.base_fen,
            self.excess_fen,
            tuple((b.base_fen, b.amount_fen) for b in self.bands),
            self.before_cap_fen,
            self.cap_cut_fen,
            self.reason_code,
            self.reason,
            self.member,
            self.coverage_start,
            self.reverses,
        )


def outcome_columns(plan: Plan) -> list[str]:
    """The outcome table's columns (both engines', in this order)."""
    n = len(plan.inpatient.tiers)
    return [
        "row",
        "settlement_id",
        "benefit",
        "status",
        "amount_fen",
        "deductible_fen",
        "base_fen",
        "excess_fen",
        *[f"band_{i}_{k}_fen" for i in range(n) for k in ("base", "amount")],
        "before_cap_fen",
        "cap_cut_fen",
        "reason_code",
        "reason",
        "member",
        "coverage_start",
        "reverses",
    ]
