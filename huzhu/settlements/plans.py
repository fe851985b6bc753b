"""The plans an import adjudicates under: every loaded plan's current version, with its year."""

from __future__ import annotations

from dataclasses import dataclass

from huzhu.enrollment.models import SchemeYear
from huzhu.plans.schema import Plan

__all__ = ["LoadedPlan", "loaded_plans"]


@dataclass(frozen=True)
class LoadedPlan:
    plan: Plan
    version: int | None
    scheme_year: SchemeYear
    version_id: int | None = None  # the plans.PlanVersion row


def loaded_plans() -> list[LoadedPlan]:
    """The current version of every loaded plan (`huzhu plan-load`), oldest year first."""
    from huzhu.plans.models import PlanVersion
    from huzhu.plans.selectors import plan_from_version, plan_version_current

    out = []
    years = SchemeYear.objects.filter(pk__in=PlanVersion.objects.values("scheme_year_id")).order_by(
        "year"
    )
    for year in years:
        version = plan_version_current(year.year)
        if version is None:
            continue
        out.append(
            LoadedPlan(
                plan=plan_from_version(version),
                version=version.version,
                scheme_year=year,
                version_id=version.pk,
            )
        )
    return out
