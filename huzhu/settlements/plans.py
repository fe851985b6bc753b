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


def loaded_plans() -> list[LoadedPlan]:
    """The current version of every loaded plan (`huzhu plan-load`), oldest year first."""
    try:
        from huzhu.plans import selectors
    except ImportError:  # the plans app's versions are not installed
        return []
    out = []
    for year in SchemeYear.objects.order_by("year"):
        found = selectors.plan_for_year(year.year)
        if found is None:
            continue
        version, plan = found
        out.append(LoadedPlan(plan=plan, version=version, scheme_year=year))
    return out
