"""Recomputing member-years that already had claims: late stays, reversals, manual claims.

Called inside the import's transaction. Holds every touched member-year's ledger lock
(`ledger_lock_many`, in a fixed order) and walks the year's stays again in (discharge date,
key) order with the row engine (`adjudicate_member_year`):
- a claim whose record was reversed: unpaid → `void`; paid → a recovery item for finance;
- a manual claim for the same stay (same member, admission and discharge dates, no
  settlement id yet) gets the record attached (the bureau's amounts replace the claimant's);
- unfixed, unpaid claims whose amount changed are recomputed (`claim_recompute`);
- fixed claims (paid, one-stop, reviewer's override) never change: the difference between
  the new amount and what the claim already carries (amount ± its adjustment items) becomes
  a top-up or recovery item;
- new covered stays become auto-claims (`claim_create_auto`), lump sums included.

Also the walk of late data (`readjudicate.py`): stored refused records that the enrollment or
plan now covers come in as new stays; and of a new plan version (`keep_fixed=True`): the
year's unpaid, unfixed claims are re-priced under it, fixed ones keep the version they used
(see `huzhu.claims.services.repricing`, `adjust_fixed=False`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from huzhu.claims import texts
from huzhu.claims.ledger import ledger_lock_many, ledger_write
from huzhu.claims.models import (
    LIVE_STATUSES,
    VOIDABLE_STATUSES,
    AdjustmentKind,
    Claim,
    ClaimStatus,
)
from huzhu.claims.services import (
    ClaimAmount,
    adjustment_create,
    claim_attach_settlement,
    claim_create_auto,
    claim_effective_fen,
    claim_void,
)
from huzhu.claims.services.repricing import YearWalk, member_years_reprice, year_claims_locked
from huzhu.enrollment.models import Enrollment
from huzhu.members.models import Member
from huzhu.plans.rules.ledger import CoveredStay
from huzhu.reports.rollup import rollups_deferred

__all__ = ["NewStay", "MemberYearWork", "recompute_member_years"]

S = ClaimStatus
AMOUNT_NAMES = ("total_cost", "fund_paid", "self_pay_in_policy", "self_pay_out_policy")


@dataclass
class NewStay:
    settlement_id: str
    hospital: str
    hospital_code: str
    admit: date
    discharge: date
    diagnosis_code: str
    amounts: dict  # total_cost/fund_paid/self_pay_in_policy/self_pay_out_policy -> fen or None
    base_fen: int
    review_reason: str
    enrollment_id: int

    def claim_fields(self) -> dict:
        return {
            "settlement_id": self.settlement_id,
            "hospital_name": self.hospital,
            "hospital_code": self.hospital_code,
            "admit_date": self.admit,
            "discharge_date": self.discharge,
            "diagnosis_code": self.diagnosis_code,
            **{f"{n}_fen": self.amounts.get(n) for n in AMOUNT_NAMES},
        }


@dataclass
class MemberYearWork:
    member_id: int
    scheme_year_id: int
    plan_index: int
    new_stays: list[NewStay] = field(default_factory=list)
    reversed: dict[str, str] = field(default_factory=dict)  # stored target sid -> reversal sid


def _stay_from_claim(claim: Claim) -> dict:
    return {
        "hospital_name": claim.hospital_name,
        "hospital_code": claim.hospital_code,
        "admit_date": claim.admit_date,
        "discharge_date": claim.discharge_date,
        "diagnosis_code": claim.diagnosis_code,
        "settlement_id": claim.settlement_id,
        **{f"{n}_fen": getattr(claim, f"{n}_fen") for n in AMOUNT_NAMES},
    }


def _create(ctx: dict, stay, claim, code: str, name: str, amount, review: str) -> Claim:
    """A new auto-claim for a stay (a new record, or the stay of an existing claim)."""
    data = stay.claim_fields() if stay else _stay_from_claim(claim)
    data = {k: v for k, v in data.items() if v is not None}
    created = claim_create_auto(
        member=ctx["member"],
        scheme_year=ctx["scheme_year"],
        benefit_code=code,
        benefit_name=name,
        stay=data,
        amount=amount,
        review_reason=review,
        enrollment=Enrollment.objects.get(pk=stay.enrollment_id) if stay else claim.enrollment,
        ledger=ctx["ledger"],
    )
    out = ctx["out"]
    out["created"] += 1
    out["created_claims"].append(created.number)
    if created.status == S.APPROVED:
        out["approved"] += 1
        out["approved_fen"] += created.amount_fen or 0
    else:
        out["for_review"] += 1
    return created


def recompute_member_years(
    work: list[MemberYearWork],
    *,
    plans,
    batch=None,
    reason: str = "",
    keep_fixed: bool = False,
) -> dict:
    """Recompute each member-year of `work` (precondition: inside a transaction holding the
    settlement import's lock: the import's own, or `readjudicate.settlements_lock`).
    `reason` is told to members whose claims change (default: the import `batch`'s);
    `keep_fixed`: a new plan version (fixed claims keep theirs, no adjustment item).
    Returns counts of the claims it created and of the unfixed claims it re-priced.

    In bulk: the ledger rows of every member-year are locked in one statement, their claims
    read (and row-locked) in one query, the lifetime lump sums paid in other years in one
    query, and the walks done by one call of the claims core's re-pricing service
    (`member_years_reprice`)."""
    # One statement per claim written in one long transaction: the reports' rollups take
    # their share once at the end (huzhu.reports.rollup.rollups_deferred says why).
    with rollups_deferred():
        return _recompute_member_years(
            work, plans=plans, batch=batch, reason=reason, keep_fixed=keep_fixed
        )


def _recompute_member_years(work, *, plans, batch, reason: str, keep_fixed: bool) -> dict:
    out = {
        "created": 0,
        "approved": 0,
        "for_review": 0,
        "approved_fen": 0,
        "created_claims": [],  # numbers
        "changed": 0,  # unfixed claims whose amount changed
        "difference_fen": 0,  # the sum of (new − old amount) over them
        "changed_claims": [],  # (number, old fen, new fen) of each
    }
    pairs = [(w.member_id, w.scheme_year_id) for w in work]
    ledgers = ledger_lock_many(pairs)
    year_claims = year_claims_locked(pairs, statuses=LIVE_STATUSES)
    members = Member.objects.in_bulk([w.member_id for w in work])
    why = reason or f"医保结算数据更新（导入批次{batch.pk}），按出院顺序重新计算本年度住院互助"
    # A stay settled at a hospital cashier (one-stop) reaches the bureau's file later with the
    # same settlement id: it is the same stay, already claimed (domain.md): no second claim.
    claimed = set(
        Claim.objects.filter(
            settlement_id__in=[s.settlement_id for w in work for s in w.new_stays]
        ).values_list("settlement_id", flat=True)
    )
    lifetime_codes = {b.code for lp in plans for b in lp.plan.lump_sums if b.once_per == "lifetime"}
    lifetime_paid: dict[int, set[tuple[int, str]]] = {}
    if lifetime_codes:
        for member_id, year_id, code in Claim.objects.filter(
            member_id__in={w.member_id for w in work},
            benefit_code__in=lifetime_codes,
            status__in=LIVE_STATUSES,
        ).values_list("member_id", "scheme_year_id", "benefit_code"):
            lifetime_paid.setdefault(member_id, set()).add((year_id, code))
    walks = []
    years = []
    for w in work:
        lp = plans[w.plan_index]
        plan = lp.plan
        inpatient = plan.inpatient
        member = members[w.member_id]
        claims = year_claims[(w.member_id, w.scheme_year_id)]
        # 1. Claims of reversed records.
        remaining = []
        for c in claims:
            if c.settlement_id and c.settlement_id in w.reversed:
                reason = (
                    f"结算记录{c.settlement_id}已被冲正（冲正流水号{w.reversed[c.settlement_id]}）"
                )
                if c.status == S.PAID or c.is_fixed:
                    worth = claim_effective_fen(c)
                    if worth > 0:
                        adjustment_create(
                            claim=c, kind=AdjustmentKind.RECOVERY, amount_fen=worth, reason=reason
                        )
                if c.status in VOIDABLE_STATUSES:
                    claim_void(claim=c, reason=reason)
                continue
            remaining.append(c)
        # 2. Manual claims for the same stay get the record attached.
        new_stays = []
        attached_ids: set[int] = set()
        for stay in w.new_stays:
            if stay.settlement_id in claimed:
                continue
            match = next(
                (
                    c
                    for c in remaining
                    if not c.settlement_id
                    and c.benefit_code == inpatient.code
                    and c.admit_date == stay.admit
                    and c.discharge_date == stay.discharge
                ),
                None,
            )
            if match is None:
                new_stays.append(stay)
                continue
            fields = stay.claim_fields()
            fields.pop("settlement_id")
            attached = claim_attach_settlement(
                claim=match,
                settlement_id=stay.settlement_id,
                stay={k: v for k, v in fields.items() if v is not None},
                reason=f"医保结算记录{stay.settlement_id}与该申请为同一次住院",
            )
            remaining[remaining.index(match)] = attached
            attached_ids.add(attached.pk)
        # 3. The year's stays in ledger order (the claims core's re-pricing walk). A manual
        # claim that just got its record is computed now, so the reviewer sees the engine's
        # figure; other claims without an amount wait for their approval.
        lump_codes = {b.code for b in plan.lump_sums}
        held = {c.benefit_code for c in remaining if c.benefit_code in lump_codes}
        held |= {
            code
            for year_id, code in lifetime_paid.get(w.member_id, ())
            if year_id != w.scheme_year_id
            and any(b.code == code and b.once_per == "lifetime" for b in plan.lump_sums)
        }
        walks.append(
            YearWalk(
                member_id=w.member_id,
                scheme_year_id=w.scheme_year_id,
                plan=plan,
                version=(lp.version, lp.version_id),
                claims=remaining,
                reason=why,
                new_stays=[
                    CoveredStay(s.settlement_id, s.discharge, s.base_fen, s.diagnosis_code)
                    for s in new_stays
                ],
                sex=member.sex,
                held=frozenset(held),
                price_unpriced=frozenset(attached_ids),
                adjust_fixed=not keep_fixed,
            )
        )
        years.append((w, lp, member, remaining, {s.settlement_id: s for s in new_stays}))
    for done, (w, lp, member, remaining, fresh) in zip(
        member_years_reprice(walks), years, strict=True
    ):
        plan = lp.plan
        inpatient = plan.inpatient
        ledger = ledgers[(w.member_id, w.scheme_year_id)]
        ctx = {"member": member, "scheme_year": lp.scheme_year, "ledger": ledger, "out": out}
        for claim, before, after in done.changed:
            if not (claim.is_fixed or claim.status == S.PAID):
                out["changed"] += 1
                out["difference_fen"] += after - before
                out["changed_claims"].append((claim.number, before, after))
        # 4. New covered stays become auto-claims, in ledger order.
        for key, b in done.new.items():
            stay = fresh[key]
            amount = done.amount(b)
            _create(ctx, stay, None, inpatient.code, inpatient.name, amount, stay.review_reason)
        lump_codes = {b.code for b in plan.lump_sums}
        numbers = {c.benefit_code: c.number for c in remaining if c.benefit_code in lump_codes}
        by_code = {b.code: b for b in plan.lump_sums}
        for award in done.result.lump_sums:
            benefit = by_code[award.benefit]
            amount = ClaimAmount(
                amount_fen=award.amount_fen,
                breakdown=texts.lump_breakdown_dict(
                    plan, lp.version, benefit, award.diagnosis_code
                ),
                explanation=texts.lump_explanation_text(plan, benefit),
                plan_version_number=lp.version,
                plan_version_id=lp.version_id,
            )
            stay = fresh.get(award.key)
            source_claim = done.claims.get(award.key)
            review = stay.review_reason if stay else ""
            created = _create(ctx, stay, source_claim, benefit.code, benefit.name, amount, review)
            numbers[benefit.code] = created.number
        ledger_write(ledger, done.totals(numbers))
    return out
