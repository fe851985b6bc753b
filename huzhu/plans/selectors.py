"""Reading plans from the database: other apps get the frozen Plan from here."""

from __future__ import annotations

from functools import lru_cache

from .models import PlanVersion
from .schema import Plan, plan_from_yaml

__all__ = [
    "PlanNotLoaded",
    "plan_version_current",
    "plan_current",
    "plan_for_year",
    "plan_from_version",
]


class PlanNotLoaded(LookupError):
    code = "plan_not_loaded"

    def __init__(self, year: int) -> None:
        self.year = year
        self.message = f"{year}年度尚未加载互助方案"
        super().__init__(self.message)


@lru_cache(maxsize=64)
def _parse(content_hash: str, text: str) -> Plan:  # the hash keys the cache
    return plan_from_yaml(text)


def plan_from_version(version: PlanVersion) -> Plan:
    return _parse(version.content_hash, version.source_text)


def plan_version_current(year: int) -> PlanVersion | None:
    """The latest plan version of a scheme year, or None."""
    return (
        PlanVersion.objects.filter(scheme_year__year=year)
        .select_related("scheme_year")
        .order_by("-version")
        .first()
    )


def plan_current(year: int) -> tuple[PlanVersion, Plan]:
    """(version row, frozen Plan) in force for `year`; raises PlanNotLoaded."""
    version = plan_version_current(year)
    if version is None:
        raise PlanNotLoaded(year)
    return version, plan_from_version(version)


def plan_for_year(year: int) -> Plan:
    """The frozen Plan in force for `year`; raises PlanNotLoaded."""
    return plan_current(year)[1]
