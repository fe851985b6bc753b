"""Late data (issue 15): stored records adjudicated again, and a new plan version applied.

A bureau record is refused when it arrives before what would cover it: the member's
enrollment (`not_enrolled`; or `waiting_period`, when the previous year's enrollment that
makes it a renewal comes later), or the year's plan (`out_of_period`; or `waiting_period`
under a waiting period a corrected plan shortens). Such records are kept; when the missing
data arrives they are adjudicated again and earn their claims:

- `settlements_readjudicate(years=...)`: every stored record refused as `not_enrolled`,
  `waiting_period` or `out_of_period` of a member enrolled somewhere is classified again
  under the loaded plans and today's enrollments (domain.md "Outcome", in its order); its
  status is brought up to date, and the covered ones become claims through the member-year
  recompute (`recompute.recompute_member_years`: ledger locks, ledger order, fixed claims'
  adjustments, lump sums, the claims core's trail and notices). A stay of a member who
  refused or withdrew consent becomes a claim for a reviewer (submitted, with the
  import's consent reason), never an automatic payment. Run after an enrollment
  import commits (a task), after a plan load (in its transaction), nightly (ops job
  `settlements-readjudicate`) and by `huzhu settlements-readjudicate [--year YYYY]`.
- `plan_version_reprice(version)`: a new plan version re-prices the year's unpaid,
  unfixed claims under it; fixed claims keep the version they used (domain.md "Plan
  versions").

Once only: both hold the settlement import's lock (PostgreSQL advisory lock; SQLite's
IMMEDIATE transactions) for their whole transaction, and a record's status changes in the
same transaction as the claims it earns, so two runs, or a run and an import, never
create a claim twice (and a stay already claimed, e.g. at a cashier, gets no second one).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q

from huzhu.audit.services import audit_record
from huzhu.claims.models import VOIDABLE_STATUSES, Claim, ClaimStatus
from huzhu.core.money import fen_to_yuan
from huzhu.enrollment.consent import consent_withheld_member_ids
from huzhu.enrollment.models import Enrollment
from huzhu.enrollment.selectors import renewal_member_ids
from huzhu.members.models import Member
from huzhu.plans.rules.ledger import Coverage
from huzhu.plans.rules.outcomes import REASON_MESSAGES

from .frames import review_reasons
from .models import RecordStatus, SettlementRecord
from .plans import LoadedPlan, loaded_plans
from .recompute import AMOUNT_NAMES, MemberYearWork, NewStay, recompute_member_years

__all__ = [
    "REFUSED",
    "ReadjudicationResult",
    "plan_version_reprice",
    "settlements_lock",
    "settlements_readjudicate",
]

R = RecordStatus
REFUSED = (R.NOT_ENROLLED, R.WAITING_PERIOD, R.OUT_OF_PERIOD)
READJUDICATE_REASON = "参保信息或互助方案更新后，重新判定此前未获补助的医保结算记录"


def settlements_lock() -> None:
    """Take the settlement import's lock until the transaction ends (see importing.py)."""
    if not connection.in_atomic_block:
        raise transaction.TransactionManagementError("settlements_lock needs a transaction")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('huzhu.settlement_import'))")


@dataclass
class ReadjudicationResult:
    years: list[int] | None
    checked: int = 0  # refused records of enrolled members looked at again
    outcomes: Counter = field(default_factory=Counter)  # their status now
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (sid, before, now)
    created: int = 0
    approved: int = 0
    for_review: int = 0
    approved_fen: int = 0
    claims: list[str] = field(default_factory=list)  # numbers of the claims created

    def summary(self) -> dict:
        """The JSON summary (the command's last line, the job's result)."""
        return {
            "command": "settlements-readjudicate",
            "years": self.years,
            "checked": self.checked,
            "changed": len(self.changes),
            "covered": self.outcomes[R.COVERED],
            "not_enrolled": self.outcomes[R.NOT_ENROLLED],
            "waiting_period": self.outcomes[R.WAITING_PERIOD],
            "out_of_period": self.outcomes[R.OUT_OF_PERIOD],
            "created": self.created,
            "approved": self.approved,
            "for_review": self.for_review,
            "approved_amount": fen_to_yuan(self.approved_fen),
        }


def settlements_readjudicate(
    *, years: Iterable[int] | None = None, acting_user=None
) -> ReadjudicationResult:
    """Adjudicate the stored refused records again (discharged in `years`' plan periods, or
    all) and create the claims they now earn, once. One transaction; see the module doc."""
    with transaction.atomic():
        settlements_lock()
        return _readjudicate(years, loaded_plans(), acting_user)


def _plan_for(plans: list[LoadedPlan], discharge) -> int | None:
    """Index of the first plan whose period holds the discharge date (the import's rule)."""
    for i, lp in enumerate(plans):
        if discharge is not None and lp.plan.period.start <= discharge <= lp.plan.period.end:
            return i
    return None


def _readjudicate(years, plans: list[LoadedPlan], acting_user) -> ReadjudicationResult:
    """Precondition: inside a transaction holding `settlements_lock`."""
    years = sorted(set(years)) if years is not None else None
    result = ReadjudicationResult(years=years)
    enrolled = Enrollment.objects.filter(
        member__id_number_hash=OuterRef("id_number_hash"), withdrawn_at__isnull=True
    )
    records = SettlementRecord.objects.filter(
        status__in=REFUSED, is_reversal=False, reversed_by=""
    ).filter(Exists(enrolled))
    if years is not None:
        periods = [lp.plan.period for lp in plans if lp.scheme_year.year in years]
        if not periods:
            return result
        within = Q()
        for p in periods:
            within |= Q(discharge_date__range=(p.start, p.end))
        records = records.filter(within)
    records = list(records.select_for_update().order_by("id"))
    result.checked = len(records)
    if not records:
        return result

    members = {
        m.id_number_hash: m
        for m in Member.objects.filter(id_number_hash__in={r.id_number_hash for r in records})
    }
    year_ids = [lp.scheme_year.pk for lp in plans]
    enrollments = {
        (e.member_id, e.scheme_year_id): e
        for e in Enrollment.objects.filter(
            member__in=members.values(), scheme_year_id__in=year_ids, withdrawn_at__isnull=True
        )
    }
    # (member id, scheme year) pairs that are renewals: the enrollment app's rule, per year.
    member_ids = [m.pk for m in members.values()]
    renewals = {
        (member_id, lp.scheme_year.year)
        for lp in plans
        for member_id in renewal_member_ids(member_ids, lp.scheme_year.year)
    }
    # Members who refused or withdrew consent: their stays wait for a reviewer, never paid
    # automatically (the import's rule, the same words).
    withheld = set(consent_withheld_member_ids())
    work: dict[tuple[int, int], MemberYearWork] = {}
    for rec in records:
        status, member, enrollment, idx = _classify(rec, plans, members, enrollments, renewals)
        result.outcomes[status] += 1
        if status == rec.status:
            continue
        result.changes.append((rec.settlement_id, rec.status, status))
        lp = plans[idx] if idx is not None else None
        plan = lp.plan if lp else None
        review = ""
        if status == R.COVERED:
            review = "；".join(
                review_reasons(
                    amounts={n: getattr(rec, f"{n}_fen") for n in AMOUNT_NAMES},
                    base=plan.inpatient.base,
                    admit=rec.admit_date,
                    discharge=rec.discharge_date,
                    name=(rec.name or "").strip(),
                    member_name=member.name,
                    consent_withheld=member.pk in withheld,
                )
            )
            key = (member.pk, lp.scheme_year.pk)
            item = work.setdefault(key, MemberYearWork(*key, plan_index=idx))
            item.new_stays.append(_new_stay(rec, plan, enrollment, review))
        linked = status in (R.COVERED, R.WAITING_PERIOD)
        SettlementRecord.objects.filter(pk=rec.pk).update(
            status=status,
            reason="" if status == R.COVERED else REASON_MESSAGES[status],
            member_id=member.pk if linked else None,
            # The import keeps the number's ciphertext only on records without a member.
            **({"id_number_encrypted": ""} if linked else {}),
            scheme_year_id=lp.scheme_year.pk if lp else None,
            plan_version_number=lp.version if lp else None,
            review_reason=review,
        )
    if work:
        out = recompute_member_years(
            sorted(work.values(), key=lambda w: (w.scheme_year_id, w.member_id)),
            plans=plans,
            reason=READJUDICATE_REASON,
        )
        result.created = out["created"]
        result.approved = out["approved"]
        result.for_review = out["for_review"]
        result.approved_fen = out["approved_fen"]
        result.claims = out["created_claims"]
    if result.changes:
        audit_record(
            actor=acting_user,
            action="settlements.readjudicate",
            object_type="settlements.settlementrecord",
            after={
                **result.summary(),
                "records": [list(c) for c in result.changes[:200]],
                "claims": result.claims[:200],
            },
            reason=READJUDICATE_REASON,
        )
    return result


def _classify(rec, plans, members, enrollments, renewals):
    """(status, member, enrollment, plan index) of a stored record under today's data,
    in domain.md's order: out_of_period -> not_enrolled -> waiting_period -> covered."""
    idx = _plan_for(plans, rec.discharge_date)
    member = members.get(rec.id_number_hash)
    if idx is None:
        return R.OUT_OF_PERIOD, member, None, None
    lp = plans[idx]
    base = getattr(rec, f"{lp.plan.inpatient.base}_fen", None)
    enrollment = enrollments.get((member.pk, lp.scheme_year.pk)) if member else None
    if enrollment is None or base is None or base < 0 or rec.admit_date is None:
        # (a base other than the one it was read with may be missing: not a stay to pay)
        return R.NOT_ENROLLED if enrollment is None else rec.status, member, None, idx
    renewal = (member.pk, lp.scheme_year.year) in renewals
    if not Coverage(enrollment.enrolled_on, renewal).covers_admission(lp.plan, rec.admit_date):
        return R.WAITING_PERIOD, member, enrollment, idx
    return R.COVERED, member, enrollment, idx


def _new_stay(rec: SettlementRecord, plan, enrollment, review: str) -> NewStay:
    amounts = {}
    for n in AMOUNT_NAMES:
        fen = getattr(rec, f"{n}_fen")
        amounts[n] = fen if fen is not None and fen >= 0 else None
    return NewStay(
        settlement_id=rec.settlement_id,
        hospital=rec.hospital,
        hospital_code=rec.hospital_code,
        admit=rec.admit_date,
        discharge=rec.discharge_date,
        diagnosis_code=rec.diagnosis_code,
        amounts=amounts,
        base_fen=getattr(rec, f"{plan.inpatient.base}_fen"),
        review_reason=review,
        enrollment_id=enrollment.pk,
    )


def plan_version_reprice(version, *, acting_user=None) -> dict:
    """Re-price the year's unpaid, unfixed claims under `version` (the year's newest), with
    the claims core's audit and notices; fixed claims keep the version they used. Returns
    the summary (also audited as `plan.reprice` on the version), with `claims`: (number,
    amount before, amount after) of each claim whose amount changed (the first 500).

    Precondition: inside a transaction holding `settlements_lock` (plan_load's)."""
    plans = loaded_plans()
    idx = next(
        (i for i, lp in enumerate(plans) if lp.scheme_year.pk == version.scheme_year_id), None
    )
    summary = {"recomputed": 0, "changed": 0, "difference": "0.00", "kept_fixed": 0}
    if idx is None or plans[idx].version_id != version.pk:
        return summary  # not the year's newest version: nothing moves to it
    year_id = version.scheme_year_id
    # Claims a new plan version re-prices: priced, unpaid, not final, not fixed.
    moving = dict(
        Claim.objects.filter(
            scheme_year_id=year_id,
            status__in=VOIDABLE_STATUSES,
            is_fixed=False,
            amount_fen__isnull=False,
        )
        .exclude(plan_version_id=version.pk)
        .values_list("id", "member_id")
    )
    member_ids = sorted(set(moving.values()))
    kept = (
        Claim.objects.filter(scheme_year_id=year_id)
        .filter(Q(is_fixed=True) | Q(status=ClaimStatus.PAID))
        .exclude(status__in=(ClaimStatus.VOID, ClaimStatus.REJECTED))
        .count()
    )
    if not member_ids:
        summary["kept_fixed"] = kept
        return summary
    why = (
        f"{version.scheme_year.year}年度互助方案已更新为第{version.version}版，"
        "按新方案重新计算尚未发放的互助金"
    )
    work = [MemberYearWork(m, year_id, plan_index=idx) for m in member_ids]
    out = recompute_member_years(work, plans=plans, reason=why, keep_fixed=True)
    summary = {
        "recomputed": Claim.objects.filter(pk__in=moving, plan_version_id=version.pk).count(),
        "changed": out["changed"],
        "difference": fen_to_yuan(out["difference_fen"]),
        "kept_fixed": kept,
    }
    changed = [list(c) for c in out["changed_claims"][:500]]
    summary_claims = changed  # kept apart from the summary (the command's JSON line)
    audit_record(
        actor=acting_user,
        action="plan.reprice",
        obj=version,
        after={
            **summary,
            "difference_fen": out["difference_fen"],
            # (claim number, amount before, amount after) of each change, for the plans page
            "claims": summary_claims,
        },
        reason=why,
    )
    return {**summary, "claims": summary_claims}
