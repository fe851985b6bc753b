"""The member-year ledger (账户): deductible, cumulative bands, cap and lump sums.

This is the one place the inpatient arithmetic lives for the row path. The claims and
settlement-import code call `adjudicate_member_year` (or `adjudicate_stay`) with the
ledger state so far and store the state it returns; callers hold the member-year lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from typing import NamedTuple

from ..schema import InpatientBenefit, LumpSumBenefit, Plan
from .outcomes import BandPart, LumpSumAward, StayBenefit

__all__ = [
    "LedgerState",
    "Coverage",
    "CoveredStay",
    "MemberYearResult",
    "adjudicate_stay",
    "adjudicate_member_year",
    "InpatientRules",
    "inpatient_rules",
    "stay_amounts",
    "walk_member_year",
    "lump_sums_matching",
    "round_half_up",
    "RATIO_DENOMINATOR",
]

RATIO_DENOMINATOR = 10_000


def round_half_up(numerator: int, denominator: int = RATIO_DENOMINATOR) -> int:
    """numerator / denominator rounded half up, for numerator >= 0 (exact integers)."""
    return (2 * numerator + denominator) // (2 * denominator)


_D, _2D = RATIO_DENOMINATOR, 2 * RATIO_DENOMINATOR


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

    def first_admission(self, plan: Plan) -> date | None:
        """First admission day covered, None when any is (a renewal's cover is
        continuous: a stay admitted in December counts)."""
        return None if self.renewal else self.start(plan)

    def covers_admission(self, plan: Plan, admit: date) -> bool:
        first = self.first_admission(plan)
        return first is None or admit >= first


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


class InpatientRules(NamedTuple):
    """An inpatient benefit's numbers, read once from the plan for many stays."""

    deductible_fen: int
    deductible_per_stay: bool
    cap_fen: int | None
    bands: tuple[tuple[int, int | None, int], ...]  # (lower, upper or None, ratio units)


def inpatient_rules(benefit: InpatientBenefit) -> InpatientRules:
    return InpatientRules(
        benefit.deductible_fen, benefit.deductible_per_stay, benefit.cap_fen, benefit._bands
    )


def stay_amounts(
    rules: InpatientRules,
    base_fen: int,
    deductible_used_fen: int,
    cumulative_excess_fen: int,
    paid_fen: int,
) -> list[int]:
    """The arithmetic of one covered stay given the ledger so far (domain.md 1-5).

    Returns [deductible used, excess, benefit before the cap, benefit, band 0 base,
    band 0 amount, band 1 base, ...]: each band's base is the excess falling in it, its
    amount that share rounded half up on its own (for display; the benefit is the exact
    sum over bands rounded once).
    """
    if type(base_fen) is not int:  # no float (or Decimal) on the money path
        raise TypeError(f"base_fen must be an int number of fen, got {type(base_fen).__name__}")
    if base_fen < 0:
        raise ValueError("base must not be negative")
    deductible, per_stay, cap, bands = rules
    if per_stay:
        used = base_fen if base_fen < deductible else deductible
    else:
        left = deductible - deductible_used_fen
        used = 0 if left <= 0 else (base_fen if base_fen < left else left)
    excess = base_fen - used
    low = cumulative_excess_fen
    high = low + excess
    out = [used, excess, 0, 0]
    numerator = 0
    for lower, upper, ratio in bands:
        top = high if upper is None or high < upper else upper
        part = top - (low if low > lower else lower)
        if part <= 0:
            out += (0, 0)
        else:
            numerator += part * ratio
            out += (part, (2 * part * ratio + _D) // _2D)  # round_half_up, inlined
    before_cap = (2 * numerator + _D) // _2D
    if cap is None:
        amount = before_cap
    else:
        room = cap - paid_fen
        amount = 0 if room <= 0 else (before_cap if before_cap < room else room)
    out[2] = before_cap
    out[3] = amount
    return out


def _stay_benefit(
    rules: InpatientRules, key: str, base_fen: int, state: LedgerState, amounts: list[int]
) -> StayBenefit:
    used, excess, before_cap, amount = amounts[:4]
    return StayBenefit(
        key=key,
        base_fen=base_fen,
        deductible_fen=used,
        excess_fen=excess,
        bands=tuple(
            BandPart(i, lower, upper, ratio, amounts[4 + 2 * i], amounts[5 + 2 * i])
            for i, (lower, upper, ratio) in enumerate(rules.bands)
        ),
        before_cap_fen=before_cap,
        cap_cut_fen=before_cap - amount,
        amount_fen=amount,
        cumulative_excess_before_fen=state.cumulative_excess_fen,
        paid_before_fen=state.paid_fen,
    )


def adjudicate_stay(
    benefit: InpatientBenefit, key: str, base_fen: int, state: LedgerState
) -> tuple[StayBenefit, LedgerState]:
    """The inpatient benefit of one covered stay given the ledger so far (domain.md 1-5)."""
    rules = inpatient_rules(benefit)
    amounts = stay_amounts(
        rules, base_fen, state.deductible_used_fen, state.cumulative_excess_fen, state.paid_fen
    )
    used, excess, _, amount = amounts[:4]
    new_state = LedgerState(
        state.deductible_used_fen + used,
        state.cumulative_excess_fen + excess,
        state.paid_fen + amount,
        state.lump_sums_paid,
    )
    return _stay_benefit(rules, key, base_fen, state, amounts), new_state


def lump_sums_matching(plan: Plan) -> Callable[[str, str | None], list[LumpSumBenefit]]:
    """(diagnosis code, sex) -> the plan's lump sums a stay with them qualifies for."""
    lump_sums = plan.lump_sums
    return lambda diagnosis, sex: [b for b in lump_sums if b.matches(diagnosis, sex)]


def walk_member_year(
    rules: InpatientRules,
    lump_sums_for: Callable[[str, str | None], Sequence[LumpSumBenefit]],
    stays: Iterable[tuple[int, str]],
    sex: str | None,
    state: LedgerState,
) -> tuple[list[list[int]], list[tuple[int, LumpSumBenefit]], LedgerState]:
    """The ledger walk over one member-year's covered stays, already in ledger order.

    `stays` gives each stay's (base fen, diagnosis code); `lump_sums_for` is
    `lump_sums_matching(plan)` (or a cache of it). Returns each stay's `stay_amounts`, the
    lump sums awarded as (stay position, benefit), and the new state. A lump sum is paid
    for the first stay that qualifies, unless already paid (`state.lump_sums_paid`).
    """
    used_fen = state.deductible_used_fen
    excess_fen = state.cumulative_excess_fen
    paid_fen = state.paid_fen
    paid_codes = state.lump_sums_paid
    results = []
    awards = []
    for position, (base_fen, diagnosis) in enumerate(stays):
        amounts = stay_amounts(rules, base_fen, used_fen, excess_fen, paid_fen)
        results.append(amounts)
        used_fen += amounts[0]
        excess_fen += amounts[1]
        paid_fen += amounts[3]
        for lump in lump_sums_for(diagnosis, sex):
            if lump.code not in paid_codes:
                paid_codes = paid_codes | {lump.code}
                awards.append((position, lump))
    return results, awards, LedgerState(used_fen, excess_fen, paid_fen, frozenset(paid_codes))


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
    rules = inpatient_rules(plan.inpatient)
    ordered = sorted(stays, key=lambda s: (s.discharge_date, s.key))
    results, awards, new_state = walk_member_year(
        rules,
        lump_sums_matching(plan),
        [(s.base_fen, s.diagnosis_code) for s in ordered],
        sex,
        state,
    )
    benefits = []
    for stay, amounts in zip(ordered, results, strict=True):
        benefits.append(_stay_benefit(rules, stay.key, stay.base_fen, state, amounts))
        used, excess, _, amount = amounts[:4]
        state = LedgerState(
            state.deductible_used_fen + used,
            state.cumulative_excess_fen + excess,
            state.paid_fen + amount,
        )
    lump_awards = tuple(
        LumpSumAward(ordered[n].key, lump.code, lump.lump_sum_fen, ordered[n].diagnosis_code)
        for n, lump in awards
    )
    return MemberYearResult(tuple(benefits), lump_awards, new_state)
