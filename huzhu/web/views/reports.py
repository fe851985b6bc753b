"""报表 /staff/reports/: the reports of huzhu.reports with filters, charts and .xlsx export.

Every figure comes from `huzhu.reports.registry.report_make`, scoped to the user's unions
(an operator sees its own subtree only). Charts are drawn in the browser by ECharts from the
data the page carries in a json_script element (no inline script).
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header

from huzhu.audit.services import audit_record
from huzhu.enrollment.models import SchemeYear
from huzhu.organizations.selectors import union_list_visible
from huzhu.reports.base import ReportError
from huzhu.reports.registry import REPORTS, report_make
from huzhu.reports.render import cell_text, chart_data, report_xlsx
from huzhu.web.permissions import staff_required

from ._common import current_scheme_year

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _table_view(table) -> dict:
    numeric = {"int", "money", "ratio", "days"}
    return {
        "key": table.key,
        "title": table.title,
        "note": table.note,
        "heads": [(c.title, c.kind in numeric) for c in table.columns if c.key not in _HIDDEN],
        "rows": [_cells(table, r) for r in table.rows],
        "total": _cells(table, table.total) if table.total else None,
        "chart_id": f"chart-{table.key}" if table.chart and table.rows else None,
    }


# Machine keys that the page does not show (the label column says the same for people).
_HIDDEN = {"key", "item", "channel", "kind", "queue"}


def _cells(table, row) -> list[tuple[str, bool, bool]]:
    numeric = {"int", "money", "ratio", "days"}
    return [
        (cell_text(c.kind, row.get(c.key)), c.kind in numeric, c.key == "reason")
        for c in table.columns
        if c.key not in _HIDDEN
    ]


@staff_required("reports")
def report_view(request, name: str = "fund"):
    if name not in REPORTS:
        raise Http404("no such report")
    spec = REPORTS[name]
    current = current_scheme_year()
    years = list(SchemeYear.objects.order_by("-year").values_list("year", flat=True))
    try:
        year = int(request.GET.get("year") or (current.year if current else 0))
    except ValueError:
        year = current.year if current else 0
    union_code = (request.GET.get("union") or "").strip() or None
    by = (request.GET.get("by") or "").strip() or None
    context = {
        "reports": REPORTS.values(),
        "spec": spec,
        "years": years,
        "year": year,
        "union_code": union_code or "",
        "by": by or spec.default_by or "",
        "unions": union_list_visible(request.user).order_by("code"),
    }
    try:
        report = report_make(name, year=year, union_code=union_code, by=by, user=request.user)
    except ReportError as exc:
        context["error"] = exc.message
        return render(request, "web/reports/report.html", context, status=400)
    if request.GET.get("format") == "xlsx":
        data = report_xlsx(report)
        audit_record(
            actor=request.user,
            action="report.export",
            object_type="report",
            object_id=name,
            after={"year": year, "union": report.union_code, "by": report.by},
        )
        response = HttpResponse(data, content_type=XLSX_TYPE)
        suffix = f"_{report.union_code}" if report.union_code else ""
        response["Content-Disposition"] = content_disposition_header(
            True, f"{spec.title}_{year}{suffix}{'_' + report.by if report.by else ''}.xlsx"
        )
        response["Cache-Control"] = "no-store"
        return response
    context.update(
        report=report,
        tables=[_table_view(t) for t in report.tables],
        charts=chart_data(report),
    )
    return render(request, "web/reports/report.html", context)
