"""One member-year re-pricing service: walk a member-year's stays again and store the result.

Every path that changes the order or the figures of a member-year's inpatient stays calls
this one service (domain.md "Claims: identity, order, payees"): a reviewer's approval of a
manual claim (`huzhu.claims.pricing`), a bureau import meeting a year that already has
claims (`huzhu.settlements.recompute`), a one-stop settlement inserted before an unfixed
later stay or a one-stop cancellation (`huzhu.hospitals.onestop`), and a new plan version or
late enrollment (re-adjudication).

    walk = YearWalk(member_id=…, scheme_year_id=…, plan=plan, version=(number, pk),
                    claims=locked_claims_of_the_year, reason="…", new_stays=[CoveredStay(…)])
    done = member_years_reprice([walk, …])      # 1 or 100,000 member-years, same function
    done = member_year_reprice(walk)            # the single case calls the batch one

What it does, per member-year (precondition for `write=True`: inside a transaction holding
the member-year's ledger lock, the claims loaded with `select_for_update`, e.g. by
`year_claims_locked`):
1. picks the year's stays from `claims`: inpatient claims (the plan's inpatient code) in a
   computed status (`COMPUTED_STATUSES`) with a base amount and a discharge date, and an
   amount (or listed in `price_unpriced`); adds `new_stays` (not yet claims);
2. walks them in (discharge date, key) order with the rules engine
   (`adjudicate_member_year`; key: settlement id, else claim number), lump sums held
   (`held`, default: every lump sum of the plan, so the walk awards none);
3. stores what moved, each claim once:
   - a fixed or paid claim never changes: when its **computed** amount moved (override-aware:
     `claim_priced_fen`, never `amount_fen`), the change becomes a top-up or recovery item
     (`adjustment_for_new_amount`, told to the member) — unless `adjust_fixed=False`
     (a new plan version, domain.md "Plan versions": fixed claims keep the version they
     used. They are not priced under the new plan at all: the walk moves on by what their
     stored breakdown says they consumed of the deductible, bands and cap, and prices the
     unfixed stays after them under the new plan from there. The year's unfixed, unpaid
     lump-sum claims take the new plan's amount for their benefit);
   - an unfixed, unpaid claim whose amount or breakdown differs is recomputed
     (`claim_recompute`, audited, the member told when its approved amount changed);
4. returns `YearRepriced`: the engine's result (`result.state` for the ledger, `result.lump_sums`),
   each new stay's benefit (`new`), and `changed` — (claim, worth before, worth after) for
   every existing claim whose money moves (what a review page previews).

The ledger row is the caller's to write (`YearRepriced.totals(lump_sums)` gives the totals):
an approval hands them to `claim_approve`, an import or cancellation calls `ledger_write`,
a one-stop settle writes them with its claim. `write=False` computes the same without
touching anything (a preview).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from huzhu.plans.rules.ledger import (
    CoveredStay,
    LedgerState,
    MemberYearResult,
)
from huzhu.plans.rules.ledger import adjudicate_member_year as _walk
from huzhu.plans.rules.outcomes import StayBenefit
from huzhu.plans.schema import Plan

from .. import texts
from ..ledger import LedgerTotals
from ..models import COMPUTED_STATUSES, LIVE_STATUSES, VOIDABLE_STATUSES, Claim, ClaimStatus
from .adjustments import (
    _net_adjustments_fen,
    adjustment_for_new_amount,
    claim_computed_fen,
    claim_effective_fen,
)
from .corrections import claim_recompute
from .inputs import ClaimAmount

__all__ = [
    "YearRepriced",
    "YearWalk",
    "claim_is_settled",
    "claim_priced_fen",
    "claim_stay_key",
    "member_year_reprice",
    "member_years_reprice",
    "year_claims_locked",
]

_COMPUTED = frozenset(COMPUTED_STATUSES)


def claim_stay_key(claim: Claim) -> str:
    """A claim's key in the member-year walk: its settlement id, else its number (ties on the
    discharge date break on this key as text, domain.md)."""
    return claim.settlement_id or claim.number


def claim_is_settled(claim: Claim) -> bool:
    """Fixed (one-stop, override) or paid: a re-pricing never changes it, its differences
    become adjustment items."""
    return claim.is_fixed or claim.status == ClaimStatus.PAID


def claim_priced_fen(claim: Claim) -> int:
    """Where the engine's price of a settled claim stands: its computed amount (the engine's
    amount before any override) plus the adjustment items already made. A walk that prices the
    stay differently moves money; the same price moves nothing."""
    return claim_computed_fen(claim) + _net_adjustments_fen(claim)


@dataclass
class YearWalk:
    """One member-year to price again (see the module docstring)."""

    member_id: int
    scheme_year_id: int
    plan: Plan
    version: tuple[int | None, int | None]  # (plan version number, PlanVersion pk)
    claims: Iterable[Claim]  # the year's claims (any status or benefit; the walk picks)
    reason: str  # told with every recompute and adjustment
    new_stays: Sequence[CoveredStay] = ()  # stays without a claim yet, priced in the walk
    sex: str | None = None  # for the lump sums' match (only when `held` lets one be awarded)
    held: frozenset[str] | None = None  # lump sums already paid; None: all of the plan's
    price_unpriced: frozenset[int] = frozenset()  # claim ids without an amount, walked anyway
    exclude: frozenset[int] = frozenset()  # claim ids left out (cancelled, being approved)
    adjust_fixed: bool = True  # False: fixed claims keep their price (a new plan version)


@dataclass
class YearRepriced:
    walk: YearWalk
    result: MemberYearResult
    claims: dict[str, Claim]  # the existing claims walked, by key
    new: dict[str, StayBenefit]  # the benefit of each new stay, by key
    # Existing claims whose money moves: (claim, worth before, worth after) in ledger order.
    changed: list[tuple[Claim, int, int]] = field(default_factory=list)

    def amount(self, benefit: StayBenefit) -> ClaimAmount:
        """The stored form of one stay's benefit (breakdown, explanation, plan version)."""
        return stay_amount(self.walk.plan, self.walk.version, benefit)

    def totals(self, lump_sums: dict[str, str]) -> LedgerTotals:
        """The member-year ledger after the walk; `lump_sums` maps code -> claim number."""
        state = self.result.state
        return LedgerTotals(
            deductible_used_fen=state.deductible_used_fen,
            cumulative_excess_fen=state.cumulative_excess_fen,
            paid_toward_cap_fen=state.paid_fen,
            lump_sums=dict(lump_sums),
        )


def stay_amount(plan: Plan, version, benefit: StayBenefit) -> ClaimAmount:
    """An inpatient stay's benefit as the claims core stores it."""
    return ClaimAmount(
        amount_fen=benefit.amount_fen,
        breakdown=texts.breakdown_dict(plan, version[0], benefit),
        explanation=texts.explanation_text(plan, benefit),
        plan_version_number=version[0],
        plan_version_id=version[1],
    )


def year_claims_locked(
    pairs: Iterable[tuple[int, int]], *, statuses=LIVE_STATUSES, lock: bool = True
) -> dict[tuple[int, int], list[Claim]]:
    """The claims of many member-years in one query, by (member id, scheme year id), each
    list in id order, adjustment items prefetched; row-locked when `lock` (call it after the
    ledger locks: ledger rows first, then claim rows)."""
    pairs = list(dict.fromkeys(pairs))
    out: dict[tuple[int, int], list[Claim]] = {p: [] for p in pairs}
    if not pairs:
        return out
    qs = Claim.objects.filter(
        member_id__in={m for m, _y in pairs},
        scheme_year_id__in={y for _m, y in pairs},
        status__in=statuses,
    )
    if lock:
        qs = qs.select_for_update(of=("self",))
    for claim in qs.prefetch_related("adjustments").order_by("id"):
        mine = out.get((claim.member_id, claim.scheme_year_id))
        if mine is not None:
            mine.append(claim)
    return out


def _stays(walk: YearWalk) -> tuple[dict[str, Claim], list[CoveredStay]]:
    inpatient = walk.plan.inpatient
    base_attr = f"{inpatient.base}_fen"
    claims: dict[str, Claim] = {}
    stays: list[CoveredStay] = []
    for c in walk.claims:
        if c.benefit_code != inpatient.code or c.status not in _COMPUTED or c.pk in walk.exclude:
            continue
        base = getattr(c, base_attr)
        if base is None or c.discharge_date is None:
            continue
        if c.amount_fen is None and c.pk not in walk.price_unpriced:
            continue
        key = claim_stay_key(c)
        claims[key] = c
        stays.append(CoveredStay(key, c.discharge_date, base, c.diagnosis_code))
    stays.extend(walk.new_stays)
    return claims, stays


def _fixed_use(claim: Claim) -> tuple[int, int, int] | None:
    """What a settled claim consumed of its year when it was priced (deductible, excess,
    computed amount), from its stored breakdown; None when the breakdown does not say."""
    b = claim.breakdown if isinstance(claim.breakdown, dict) else {}
    try:
        used, excess = int(b["deductible_fen"]), int(b["excess_fen"])
        amount = int(b["amount_fen"]) if b.get("amount_fen") is not None else None
    except (KeyError, TypeError, ValueError):
        return None
    return used, excess, claim_computed_fen(claim) if amount is None else amount


def _walk_keeping_fixed(
    plan: Plan, stays: list[CoveredStay], fixed: dict, *, sex, state: LedgerState
) -> MemberYearResult:
    """The engine's walk, except that the stays in `fixed` (key -> stored consumption) are
    not priced: the state moves on by what they consumed under their own version, and the
    stays between them are priced under `plan` from there."""
    benefits, lumps, segment = [], [], []

    def flush(state: LedgerState) -> LedgerState:
        if not segment:
            return state
        part = _walk(plan, segment, sex=sex, state=state)
        benefits.extend(part.benefits)
        lumps.extend(part.lump_sums)
        segment.clear()
        return part.state

    for stay in sorted(stays, key=lambda s: (s.discharge_date, s.key)):
        if stay.key not in fixed:
            segment.append(stay)
            continue
        state = flush(state)
        used, excess, amount = fixed[stay.key]
        state = LedgerState(
            state.deductible_used_fen + used,
            state.cumulative_excess_fen + excess,
            state.paid_fen + amount,
            state.lump_sums_paid,
        )
    state = flush(state)
    return MemberYearResult(tuple(benefits), tuple(lumps), state)


def _lump_sums_to_plan(walk: YearWalk, out: YearRepriced, write: bool) -> None:
    """A new plan version: the unfixed, unpaid lump-sum claims of the year take its amount
    for their benefit (a benefit the version no longer has leaves its claims alone)."""
    by_code = {b.code: b for b in walk.plan.lump_sums}
    for c in walk.claims:
        benefit = by_code.get(c.benefit_code)
        if (
            benefit is None
            or c.pk in walk.exclude
            or claim_is_settled(c)
            or c.status not in VOIDABLE_STATUSES
            or c.amount_fen is None
        ):
            continue
        amount = ClaimAmount(
            amount_fen=benefit.lump_sum_fen,
            breakdown=texts.lump_breakdown_dict(
                walk.plan, walk.version[0], benefit, c.diagnosis_code
            ),
            explanation=texts.lump_explanation_text(walk.plan, benefit),
            plan_version_number=walk.version[0],
            plan_version_id=walk.version[1],
        )
        if c.amount_fen != amount.amount_fen:
            out.changed.append((c, c.amount_fen, amount.amount_fen))
        elif c.breakdown == amount.breakdown and c.plan_version_id == walk.version[1]:
            continue
        if write:
            claim_recompute(claim=c, amount=amount, reason=walk.reason)


def member_years_reprice(walks: Iterable[YearWalk], *, write: bool = True) -> list[YearRepriced]:
    """Walk each member-year again and store what moved (see the module docstring); one
    result per walk, in the order given."""
    done = []
    for walk in walks:
        claims, stays = _stays(walk)
        held = walk.held
        if held is None:
            held = frozenset(b.code for b in walk.plan.lump_sums)
        start = LedgerState(lump_sums_paid=held)
        if walk.adjust_fixed:
            result = _walk(walk.plan, stays, sex=walk.sex, state=start)
        else:
            fixed = {k: _fixed_use(c) for k, c in claims.items() if claim_is_settled(c)}
            fixed = {k: use for k, use in fixed.items() if use is not None}
            result = _walk_keeping_fixed(walk.plan, stays, fixed, sex=walk.sex, state=start)
        out = YearRepriced(walk=walk, result=result, claims=claims, new={})
        for b in result.benefits:
            claim = claims.get(b.key)
            if claim is None:
                out.new[b.key] = b
                continue
            if claim_is_settled(claim):
                if not walk.adjust_fixed:
                    continue
                diff = b.amount_fen - claim_priced_fen(claim)
                if not diff:
                    continue
                before = claim_effective_fen(claim)
                out.changed.append((claim, before, before + diff))
                if write:
                    adjustment_for_new_amount(claim=claim, new_fen=b.amount_fen, reason=walk.reason)
                continue
            amount = out.amount(b)
            if claim.amount_fen != b.amount_fen:
                out.changed.append((claim, claim.amount_fen or 0, b.amount_fen))
            elif claim.breakdown == amount.breakdown:
                continue
            if write:
                claim_recompute(claim=claim, amount=amount, reason=walk.reason)
        if not walk.adjust_fixed:
            _lump_sums_to_plan(walk, out, write)
        done.append(out)
    return done


def member_year_reprice(walk: YearWalk, *, write: bool = True) -> YearRepriced:
    """`member_years_reprice` for one member-year."""
    return member_years_reprice([walk], write=write)[0]
