"""The rules engine's amount for a manual claim, computed under the member-year lock.

`manual_claim_amount` is the `AmountSource` callable a reviewer's approval passes to
`claim_approve`: the claims core calls it with the member-year ledger row and the claim row
locked, and writes the returned totals to the ledger in the same transaction.

Inpatient claims take their place in the member-year by discharge date (tie: the key, i.e.
settlement id or claim number, as text — domain.md "Claims: identity, order, payees"): the
year's inpatient claims that carry an amount are walked again with this one inserted
(`adjudicate_member_year`). A later stay whose amount changes because of the insertion is
recomputed (`claim_recompute`) when it is neither fixed nor paid; otherwise the difference
becomes an adjustment item. Explanations and breakdowns are the settlement import's
(`huzhu.claims.texts`), so auto- and manual claims read alike.

`manual_claim_preview(claim)` is the same computation without a lock or a write, for the
review page; it also says which other claims would change.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

from huzhu.claims import texts
from huzhu.claims.error_codes import ClaimError, ClaimErrorCode
from huzhu.claims.ledger import LedgerTotals
from huzhu.claims.models import COMPUTED_STATUSES, Claim, ClaimStatus, MemberYearLedger
from huzhu.claims.services import ClaimAmount
from huzhu.claims.services.repricing import (
    YearWalk,
    claim_stay_key,
    member_year_reprice,
    year_claims_locked,
)
from huzhu.core.money import format_fen
from huzhu.enrollment.selectors import enrollment_coverage_start, enrollment_is_renewal
from huzhu.plans.rules.ledger import Coverage, CoveredStay

from . import member_selectors as selectors

__all__ = [
    "NOT_COVERED",
    "AmountPreview",
    "manual_claim_amount",
    "manual_claim_amount_with_override",
    "manual_claim_preview",
]

S = ClaimStatus


@dataclass
class AmountPreview:
    amount: ClaimAmount | None = None
    error: ClaimError | None = None
    # Other claims of the member-year whose amount the insertion changes: (number, old, new).
    others: list[tuple[str, int, int]] = field(default_factory=list)


def _plan(claim: Claim):
    found = selectors.plan_with_version(claim.scheme_year)
    if found is None:
        raise ClaimError(
            ClaimErrorCode.AMOUNT_REQUIRED,
            f"{claim.scheme_year}的互助方案尚未加载，无法计算金额。",
            field="amount_fen",
        )
    version_row, plan = found
    version = (version_row.version, version_row.pk)
    benefit = next((b for b in plan.benefits if b.code == claim.benefit_code), None)
    if benefit is None:
        raise ClaimError(
            ClaimErrorCode.INVALID_FIELD,
            f"{claim.scheme_year}的方案中没有互助项目“{claim.benefit_code}”。",
            field="benefit_code",
        )
    return version, plan, benefit


def _waiting_period(claim: Claim, plan) -> ClaimAmount | None:
    enrollment = claim.enrollment
    if enrollment is None:
        return None
    coverage = Coverage(
        enrolled_on=enrollment.enrolled_on, renewal=enrollment_is_renewal(enrollment)
    )
    if coverage.covers_admission(plan, claim.admit_date):
        return None
    start = enrollment_coverage_start(enrollment)
    return ClaimAmount(
        amount_fen=0,
        breakdown={"status": "waiting_period", "coverage_start": start.isoformat()},
        explanation=(
            f"新参保人员观察期内入院：保障自{start:%Y-%m-%d}起（观察期至"
            f"{start - timedelta(days=1):%Y-%m-%d}），入院日期{claim.admit_date:%Y-%m-%d}"
            "在观察期内，不予补助。"
        ),
    )


def _inpatient(claim, ledger, *, plan, version, benefit, write: bool, preview: AmountPreview):
    base_attr = f"{benefit.base}_fen"
    if getattr(claim, base_attr) is None:
        raise ClaimError(
            ClaimErrorCode.INCOMPLETE,
            f"申请{claim.number}缺少{texts.BASE_LABELS[benefit.base]}，无法计算。",
            field=base_attr,
        )
    key = claim_stay_key(claim)
    year = (claim.member_id, claim.scheme_year_id)
    walk = YearWalk(
        member_id=claim.member_id,
        scheme_year_id=claim.scheme_year_id,
        plan=plan,
        version=version,
        claims=year_claims_locked([year], statuses=COMPUTED_STATUSES, lock=write)[year],
        reason=(
            f"申请{claim.number}（出院{claim.discharge_date:%Y-%m-%d}）按出院顺序计入本年度，重新计算"
        ),
        new_stays=[CoveredStay(key, claim.discharge_date, getattr(claim, base_attr))],
        sex=claim.member.sex,
        exclude=frozenset({claim.pk}),
    )
    done = member_year_reprice(walk, write=write)
    preview.others.extend((c.number, old, new) for c, old, new in done.changed)
    mine = done.new[key]
    totals = None
    if ledger is not None and write:
        totals = done.totals(ledger.lump_sums or {})
    return replace(done.amount(mine), ledger_totals=totals)


def _lump_sum(claim, ledger, *, plan, version, benefit, write: bool) -> ClaimAmount:
    lump_sums = dict(ledger.lump_sums or {}) if ledger is not None else {}
    earlier = lump_sums.get(benefit.code)
    if not earlier and benefit.once_per == "lifetime":
        earlier = (
            Claim.objects.filter(
                member_id=claim.member_id,
                benefit_code=benefit.code,
                status__in=[S.APPROVED, S.PAID],
                amount_fen__gt=0,
            )
            .exclude(pk=claim.pk)
            .values_list("number", flat=True)
            .first()
        )
    once = "本年度" if benefit.once_per == "year" else "终身"
    if earlier:
        amount, status = 0, "already_paid"
        text = f"{benefit.name}{once}限领一次，已由申请{earlier}领取，本次不再补助。"
    elif not benefit.matches(claim.diagnosis_code, claim.member.sex):
        amount, status = 0, "no_match"
        who = {"female": "，限女职工", "male": "，限男职工"}.get(benefit.sex or "", "")
        text = (
            f"诊断编码{claim.diagnosis_code or '（未填）'}不在{benefit.name}的范围"
            f"（{'、'.join(benefit.diagnoses)}{who}）内，本项目不予补助。"
        )
    else:
        lump_sums[benefit.code] = claim.number
        breakdown = texts.lump_breakdown_dict(plan, version[0], benefit, claim.diagnosis_code)
        return ClaimAmount(
            amount_fen=benefit.lump_sum_fen,
            breakdown=breakdown,
            explanation=texts.lump_explanation_text(plan, benefit),
            plan_version_number=version[0],
            plan_version_id=version[1],
            ledger_totals=_same_totals(ledger, lump_sums) if write else None,
        )
    return ClaimAmount(
        amount_fen=amount,
        breakdown={"benefit": benefit.code, "status": status, "amount_fen": 0},
        explanation=text,
        plan_version_number=version[0],
        plan_version_id=version[1],
    )


def _same_totals(ledger: MemberYearLedger, lump_sums: dict) -> LedgerTotals:
    return LedgerTotals(
        deductible_used_fen=ledger.deductible_used_fen,
        cumulative_excess_fen=ledger.cumulative_excess_fen,
        paid_toward_cap_fen=ledger.paid_toward_cap_fen,
        lump_sums=lump_sums,
    )


def _compute(claim: Claim, ledger, *, write: bool, preview: AmountPreview) -> ClaimAmount:
    version, plan, benefit = _plan(claim)
    waiting = _waiting_period(claim, plan)
    if waiting is not None:
        return replace(waiting, plan_version_number=version[0], plan_version_id=version[1])
    kwargs = {"plan": plan, "version": version, "benefit": benefit, "write": write}
    if benefit.kind == "inpatient":
        return _inpatient(claim, ledger, preview=preview, **kwargs)
    return _lump_sum(claim, ledger, **kwargs)


NOT_COVERED = "not_covered"
_NOT_COVERED = ("waiting_period", "already_paid", "no_match")


def _covered_or_refuse(amount: ClaimAmount) -> ClaimAmount:
    """A stay the plan does not cover is not approved at 0.00: it would then count as a
    covered stay (deductible, bands) or as a lump sum already paid in later walks. The
    reviewer rejects it with the reason instead."""
    if amount.breakdown.get("status") in _NOT_COVERED:
        raise ClaimError(
            NOT_COVERED,
            f"{amount.explanation} 该申请不能核准，请作“不予通过”处理并写明原因。",
        )
    return amount


def manual_claim_amount(claim: Claim, ledger: MemberYearLedger) -> ClaimAmount:
    """The AmountSource for `claim_approve` (called with the ledger and claim rows locked).
    Raises ClaimError `not_covered` for a stay the plan does not cover."""
    return _covered_or_refuse(_compute(claim, ledger, write=True, preview=AmountPreview()))


def manual_claim_amount_with_override(override_fen: int):
    """As `manual_claim_amount`, for a reviewer's overridden amount: the ledger counts the
    overridden amount toward the cap instead of the engine's."""

    def source(claim: Claim, ledger: MemberYearLedger) -> ClaimAmount:
        amount = manual_claim_amount(claim, ledger)
        totals = amount.ledger_totals
        if totals is not None and amount.breakdown.get("base_fen") is not None:
            totals = LedgerTotals(
                deductible_used_fen=totals.deductible_used_fen,
                cumulative_excess_fen=totals.cumulative_excess_fen,
                paid_toward_cap_fen=max(
                    0, totals.paid_toward_cap_fen - amount.amount_fen + override_fen
                ),
                lump_sums=totals.lump_sums,
            )
        explanation = (
            f"{amount.explanation}\n平台计算金额{format_fen(amount.amount_fen)}元，"
            f"审核人员核定为{format_fen(override_fen)}元。"
        )
        return ClaimAmount(
            amount_fen=amount.amount_fen,
            breakdown={**amount.breakdown, "engine_amount_fen": amount.amount_fen},
            explanation=explanation,
            plan_version_number=amount.plan_version_number,
            plan_version_id=amount.plan_version_id,
            ledger_totals=totals,
        )

    return source


def manual_claim_preview(claim: Claim) -> AmountPreview:
    """What approving now would pay, and which other claims would change (no lock, no write)."""
    ledger = MemberYearLedger.objects.filter(
        member_id=claim.member_id, scheme_year_id=claim.scheme_year_id
    ).first()
    preview = AmountPreview()
    try:
        preview.amount = _covered_or_refuse(_compute(claim, ledger, write=False, preview=preview))
    except ClaimError as exc:
        preview.error = exc
    return preview
