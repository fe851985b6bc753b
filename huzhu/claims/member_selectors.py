"""Reads for the member pages and the member API: coverage, the plan in words, own claims."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from huzhu.claims.models import Claim, ClaimStatus, Notification
from huzhu.core.money import format_fen
from huzhu.enrollment.models import Enrollment, SchemeYear
from huzhu.enrollment.selectors import enrollments_with_coverage
from huzhu.plans.rules.diseases import diagnosis_choices, diagnosis_label
from huzhu.plans.rules.explain import BASE_LABELS

__all__ = [
    "BASE_LABELS",
    "BenefitText",
    "CoverageView",
    "benefit_texts",
    "claims_of_member",
    "coverage_current",
    "coverages_of_member",
    "notifications_of_member",
    "pending_payment_claims",
    "plan_for_scheme_year",
    "plan_with_version",
    "scheme_year_for_day",
]


def plan_with_version(scheme_year: SchemeYear):
    """(PlanVersion row, frozen `huzhu.plans.schema.Plan`) in force for the year, or None
    when no plan is loaded for it (`huzhu plan-load`)."""
    from huzhu.plans.selectors import PlanNotLoaded, plan_current

    try:
        return plan_current(scheme_year.year)
    except PlanNotLoaded:
        return None


def plan_for_scheme_year(scheme_year: SchemeYear):
    """The plan in force for the year, or None."""
    found = plan_with_version(scheme_year)
    return found[1] if found else None


def scheme_year_for_day(day: date) -> SchemeYear | None:
    return SchemeYear.objects.filter(start__lte=day, end__gte=day).first()


@dataclass(frozen=True)
class BenefitText:
    code: str
    name: str
    kind: str  # "inpatient" | "lump_sum"
    lines: tuple[str, ...]
    base_field: str = ""  # inpatient: the claim field the plan pays on
    needs_diagnosis: bool = False
    diagnoses: tuple[tuple[str, str], ...] = ()  # (code, Chinese name) to pick from


def _yuan(fen: int) -> str:
    return format_fen(fen) + "元"


def _ratio(units: int) -> str:
    text = f"{units / 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def benefit_texts(plan) -> list[BenefitText]:
    """What the plan pays, in words, generated from the plan object (never typed twice)."""
    out: list[BenefitText] = []
    for benefit in plan.benefits:
        if benefit.kind == "inpatient":
            lines = [f"按住院{BASE_LABELS.get(benefit.base, benefit.base)}计算。"]
            if benefit.deductible_fen:
                per = "每次住院" if benefit.deductible_per_stay else "每年"
                lines.append(f"起付线：{per}{_yuan(benefit.deductible_fen)}，由本人负担。")
            for lower, upper, ratio in benefit.bands():
                if upper is None and lower == 0:
                    lines.append(f"超过起付线的部分补助{_ratio(ratio)}。")
                elif upper is None:
                    lines.append(
                        f"超过起付线的部分，全年累计{_yuan(lower)}以上的补助{_ratio(ratio)}。"
                    )
                elif lower == 0:
                    lines.append(
                        f"超过起付线的部分，全年累计{_yuan(upper)}以内的补助{_ratio(ratio)}。"
                    )
                else:
                    lines.append(
                        f"超过起付线的部分，全年累计{_yuan(lower)}至{_yuan(upper)}的补助"
                        f"{_ratio(ratio)}。"
                    )
            if benefit.cap_fen is not None:
                lines.append(f"封顶线：每年最高{_yuan(benefit.cap_fen)}。")
            out.append(
                BenefitText(
                    benefit.code,
                    benefit.name,
                    "inpatient",
                    tuple(lines),
                    base_field=f"{benefit.base}_fen",
                )
            )
        else:
            who = {"female": "限女职工，", "male": "限男职工，"}.get(benefit.sex or "", "")
            once = "每年限一次" if benefit.once_per == "year" else "终身限一次"
            named = "、".join(diagnosis_label(d) for d in benefit.diagnoses)
            lines = (
                f"{who}住院确诊以下疾病（ICD-10编码及病名：{named}）"
                f"一次性补助{_yuan(benefit.lump_sum_fen)}，{once}。",
            )
            out.append(
                BenefitText(
                    benefit.code,
                    benefit.name,
                    "lump_sum",
                    lines,
                    needs_diagnosis=True,
                    diagnoses=tuple(diagnosis_choices(benefit.diagnoses)),
                )
            )
    return out


@dataclass(frozen=True)
class CoverageView:
    scheme_year: SchemeYear
    union_name: str
    enrolled_on: date
    renewal: bool
    coverage_start: date
    waiting_end: date | None  # last day of the waiting period (new enrollments only)
    claim_window_days: int
    plan: object | None
    benefits: list[BenefitText] = field(default_factory=list)

    @property
    def in_waiting_period(self) -> bool:
        return self.waiting_end is not None and timezone.localdate() <= self.waiting_end


def _coverage_view(enrollment) -> CoverageView:
    year = enrollment.scheme_year
    plan = plan_for_scheme_year(year)
    start = enrollment.coverage_start
    return CoverageView(
        scheme_year=year,
        union_name=enrollment.union.name,
        enrolled_on=enrollment.enrolled_on,
        renewal=bool(enrollment.is_renewal),
        coverage_start=start,
        waiting_end=None if enrollment.is_renewal else start - timedelta(days=1),
        claim_window_days=year.claim_window_days,
        plan=plan,
        benefits=benefit_texts(plan) if plan is not None else [],
    )


def coverages_of_member(member) -> list[CoverageView]:
    """The member's active enrollments, newest scheme year first, with the plan in words."""
    qs = enrollments_with_coverage(
        Enrollment.objects.filter(member=member, withdrawn_at__isnull=True)
    ).select_related("scheme_year", "union")
    return [_coverage_view(e) for e in qs.order_by("-scheme_year__year")]


def coverage_current(member, today: date | None = None) -> CoverageView | None:
    """The enrollment of the scheme year containing today, else the newest one."""
    today = today or timezone.localdate()
    views = coverages_of_member(member)
    for view in views:
        if view.scheme_year.start <= today <= view.scheme_year.end:
            return view
    return views[0] if views else None


def claims_of_member(member) -> QuerySet[Claim]:
    """Every claim of the member (drafts included), newest first."""
    return (
        Claim.objects.filter(member=member)
        .select_related("scheme_year", "union")
        .order_by("-created_at", "-id")
    )


def claim_next_step_of(claim: Claim, member, *, today: date | None = None):
    """`next_step.claim_next_step` for a stored claim."""
    from django.utils import timezone

    from .next_step import claim_next_step

    since = timezone.localdate(claim.status_changed_at) if claim.status_changed_at else None
    today = today or timezone.localdate()
    return claim_next_step(
        status=claim.status,
        filer=claim.filer,
        amount_fen=claim.amount_fen,
        since=since or today,
        today=today,
        payment_failed=claim.payment_failed_at is not None,
        has_bank_card=bool(member.bank_account_last4),
        paid_on=timezone.localdate(claim.paid_at) if claim.paid_at else None,
        payee_kind=claim.payee_kind,
    )


def notifications_of_member(member) -> QuerySet[Notification]:
    return Notification.objects.filter(member=member).order_by("-created_at", "-id")


def pending_payment_claims(member) -> list[Claim]:
    """Approved, unpaid claims paid to the member: a bank-card change applies to them too."""
    return list(
        Claim.objects.filter(
            member=member,
            status=ClaimStatus.APPROVED,
            payee_kind="member",
            amount_fen__gt=0,
        ).order_by("approved_at", "id")
    )
