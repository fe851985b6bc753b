"""The list of reports and the one entry point that scopes and makes them.

    report_make("payouts", year=2026, union_code="W001", by="union", user=request.user)

A user (the pages) is scoped to the unions it may see: an operator always gets its own
union's subtree, and a union outside it is refused exactly like an unknown one. Without a
user (the command, run by the platform) every union is visible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from huzhu.enrollment.models import SchemeYear
from huzhu.organizations.models import Union
from huzhu.organizations.selectors import union_descendant_ids, union_visible_ids

from .base import Report, ReportError, Scope
from .claims_reports import (
    PAYOUT_DIMENSIONS,
    report_caps,
    report_payouts,
    report_rejections,
    report_turnaround,
    report_zero_trip,
)
from .fund_reports import report_enrollment, report_fund

__all__ = ["REPORTS", "ReportSpec", "report_make", "report_scope"]


@dataclass(frozen=True)
class ReportSpec:
    name: str
    title: str
    summary: str
    make: Callable[..., Report]
    dimensions: dict[str, str]  # --by values it accepts (empty: none)
    default_by: str | None = None


REPORTS: dict[str, ReportSpec] = {
    s.name: s
    for s in (
        ReportSpec(
            "fund",
            "互助金收支表",
            "会费应缴与到账（按工会、月份），核准与发放（按保障项目），追回、补发、结余、赔付率",
            report_fund,
            {},
        ),
        ReportSpec(
            "payouts",
            "互助金核准支出",
            "已核准或已发放的申请：按保障项目、工会、月份、医院、受理渠道的笔数与金额",
            report_payouts,
            PAYOUT_DIMENSIONS,
            "benefit",
        ),
        ReportSpec(
            "zero-trip",
            "跑零次",
            "免申即享（自动 + 一站式）与线上、代办申请的笔数、金额占比，按月份",
            report_zero_trip,
            {},
        ),
        ReportSpec(
            "turnaround",
            "办理时效",
            "出院到核准、到发放的天数（中位数、P90、最长），各环节等待中的申请",
            report_turnaround,
            {},
        ),
        ReportSpec(
            "rejections",
            "未通过与退回",
            "未通过、退回的申请按原因；作废、追回、补发",
            report_rejections,
            {},
        ),
        ReportSpec(
            "caps",
            "封顶与大额",
            "住院互助达到封顶线的职工；金额最大的申请；一次性互助",
            report_caps,
            {},
        ),
        ReportSpec(
            "enrollment",
            "参保情况",
            "参保人数、新参保与续保、与上年度比较（续保率、增长率）、未登记银行卡",
            report_enrollment,
            {},
        ),
    )
}


def report_scope(*, year: int, union_code: str | None = None, user=None) -> Scope:
    """The Scope of a report: the scheme year and the chosen union's subtree within what
    `user` may see. Raises ReportError `unknown_year` / `unknown_union`."""
    scheme_year = SchemeYear.objects.filter(year=year).first()
    if scheme_year is None:
        raise ReportError("unknown_year", f"{year}年度不存在")
    visible = union_visible_ids(user) if user is not None else None
    union = None
    if union_code:
        union = Union.objects.filter(code=union_code.strip()).first()
        if union is None or (visible is not None and union.id not in visible):
            raise ReportError("unknown_union", f"工会代码 {union_code} 不存在或不在您的范围内")
    elif visible is not None and user is not None and getattr(user, "union_id", None):
        union = Union.objects.filter(pk=user.union_id).first()
    if union is not None:
        ids = frozenset(union_descendant_ids([union.id]))
    elif visible is not None:
        ids = frozenset(visible)
    else:
        ids = None
    return Scope(
        year=year,
        scheme_year_id=scheme_year.pk,
        union_ids=ids,
        union_code=union.code if union is not None else None,
        today=timezone.localdate(),
    )


def report_make(
    name: str, *, year: int, union_code: str | None = None, by: str | None = None, user=None
) -> Report:
    spec = REPORTS.get(name)
    if spec is None:
        raise ReportError("unknown_report", f"没有报表“{name}”；可选：{', '.join(REPORTS)}")
    if by and by not in spec.dimensions:
        allowed = ", ".join(spec.dimensions) or "（该报表不分维度）"
        raise ReportError("bad_dimension", f"报表 {name} 不支持 --by {by}；可选：{allowed}")
    scope = report_scope(year=year, union_code=union_code, user=user)
    return spec.make(scope, by or spec.default_by)
