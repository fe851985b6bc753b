"""The member-year ledger (账户): deductible, cumulative bands, cap and lump sums.

This is the one place the inpatient arithmetic lives for the row path. The claims and
settlement-import code call `adjudicate_member_year` (or `adjudicate_stay`) with the
ledger state so far and store the state it returns; callers hold the member-year lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import NamedTuple

from ..schema import InpatientBenefit, Plan
from .outcomes import BandPart, LumpSumAward, StayBenefit

__all__ = [
    "LedgerState",
    "Coverage",
    "CoveredStay",
    "MemberYearResult",
    "adjudicate_stay",
    "adjudicate_member_year",
    "round_half_up",
    "RATIO_DENOMINATOR",
]

RATIO_DENOMINATOR = 10_000


def round_half_up(numerator: int, denominator: int = RATIO_DENOMINATOR) -> int:
    """numerator / denominator rounded half up, for numerator >= 0 (exact integers)."""
    return (2 * numerator + denominator) // (2 * denominator)


class LedgerState(NamedTuple):
    """What a member has used of one scheme year's inpatient benefit so far.

    `lump_sums_paid`: codes of lump-sum benefits already paid within their `once_per`
    period (this year for `year`, any year for `lifetime`); the caller fills it.
    """

    deductible_used_fen: int = 0
    cumulative_excess_fen: int = 0
    paid_fen: int = 0
    lump_sums_paid: frozenset[str] = frozenset()


class Coverage(NamedTuple):
    """A member's enrollment in the plan's scheme year."""

    enrolled_on: date
    renewal: bool

    def start(self, plan: Plan) -> date:
        """First covered admission day: the year's start for a renewal, else after the wait."""
        if self.renewal:
            return plan.period.start
        return self.enrolled_on + timedelta(days=plan.waiting_period_days)

    def covers_admission(self, plan: Plan, admit: date) -> bool:
        # A renewal's cover is continuous: a stay admitted in December counts.
        return self.renewal or admit >= self.start(plan)


class CoveredStay(NamedTuple):
    """A stay already known to be covered. `key` breaks discharge-date ties as text
    (the settlement id; a manual claim's number)."""

    key: str
    discharge_date: date
    base_fen: int
    diagnosis_code: str = ""


class MemberYearResult(NamedTuple):
    benefits: tuple[StayBenefit, ...]  # in ledger order
    lump_sums: tuple[LumpSumAward, ...]
    state: LedgerState


def adjudicate_stay(
    benefit: InpatientBenefit, key: str, base_fen: int, state: LedgerState
) -> tuple[StayBenefit, LedgerState]:
    """The inpatient benefit of one covered stay given the ledger so far (domain.md 1-5)."""
    if type(base_fen) is not int:  # no float (or Decimal) on the money path
        raise TypeError(f"base_fen must be an int number of fen, got {type(base_fen).__name__}")
    if base_fen < 0:
        raise ValueError("base must not be negative")
    deductible = benefit.deductible_fen
    if benefit.deductible_per_stay:
        used = min(base_fen, deductible)
    else:
        used = min(base_fen, max(0, deductible - state.deductible_used_fen))
    excess = base_fen - used
    low = state.cumulative_excess_fen
    high = low + excess
    parts = []
    numerator = 0
    for index, (lower, upper, ratio) in enumerate(benefit._bands):
        top = high if upper is None else min(high, upper)
        part = max(0, top - max(low, lower))
        numerator += part * ratio
        parts.append(BandPart(index, lower, upper, ratio, part, round_half_up(part * ratio)))
    before_cap = round_half_up(numerator)
    cap = benefit.cap_fen
    amount = before_cap if cap is None else min(before_cap, max(0, cap - state.paid_fen))
    result = StayBenefit(
        key=key,
        base_fen=base_fen,
        deductible_fen=used,
        excess_fen=excess,
        bands=tuple(parts),
        before_cap_fen=before_cap,
        cap_cut_fen=before_cap - amount,
        amount_fen=amount,
        cumulative_excess_before_fen=low,
        paid_before_fen=state.paid_fen,
    )
    new_state = LedgerState(
        state.deductible_used_fen + used, high, state.paid_fen + amount, state.lump_sums_paid
    )
    return result, new_state


def adjudicate_member_year(
    plan: Plan,
    stays: Iterable[CoveredStay],
    *,
    sex: str | None,
    state: LedgerState | None = None,
) -> MemberYearResult:
    """Adjudicate one member's covered stays of one scheme year, continuing from `state`.

    Stays are taken in (discharge date, key) order whatever order they come in. Returns
    each stay's benefit with its breakdown, the lump sums awarded, and the new state.
    Pure: the caller loads the state and stores the result under the member-year lock.
    """
    state = state or LedgerState()
    inpatient = plan.inpatient
    lump_benefits = plan.lump_sums
    ordered = sorted(stays, key=lambda s: (s.discharge_date, s.key))
    benefits = []
    awards = []
    paid_codes = set(state.lump_sums_paid)
    for stay in ordered:
        result, state = adjudicate_stay(inpatient, stay.key, stay.base_fen, state)
        benefits.append(result)
        for lump in lump_benefits:
            if lump.code not in paid_codes and lump.matches(stay.diagnosis_code, sex):
                paid_codes.add(lump.code)
                awards.append(
                    LumpSumAward(stay.key, lump.code, lump.lump_sum_fen, stay.diagnosis_code)
                )
    state = state._replace(lump_sums_paid=frozenset(paid_codes))
    return MemberYearResult(tuple(benefits), tuple(awards), state)
