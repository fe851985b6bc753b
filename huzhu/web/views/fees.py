from django.db.models import Count, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.http import content_disposition_header

from huzhu.audit.services import audit_record
from huzhu.enrollment.fees import fee_statement_xlsx
from huzhu.enrollment.models import Enrollment, SchemeYear
from huzhu.organizations.selectors import union_list_visible
from huzhu.web.forms import FeeStatementForm
from huzhu.web.permissions import staff_required

from ._common import current_scheme_year, union_in_scope_or_404

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@staff_required("fees")
def fee_statement_list(request):
    """会费清单: per visible union, the year's enrolled members and fees, with downloads."""
    form = FeeStatementForm(request.GET or None)
    scheme_year = None
    if form.is_bound and form.is_valid():
        scheme_year = form.cleaned_data["year"]
    scheme_year = scheme_year or current_scheme_year()
    unions = list(union_list_visible(request.user).order_by("code"))
    totals = {}
    if scheme_year is not None:
        totals = {
            row["union_id"]: row
            for row in Enrollment.objects.filter(
                scheme_year=scheme_year,
                withdrawn_at__isnull=True,
                union_id__in=[u.id for u in unions],
            )
            .values("union_id")
            .annotate(count=Count("id"), fee_fen=Sum("fee_fen"))
        }
    rows = [
        {
            "union": u,
            "count": totals.get(u.id, {}).get("count", 0),
            "fee_fen": totals.get(u.id, {}).get("fee_fen") or 0,
        }
        for u in unions
    ]
    grand = {
        "count": sum(r["count"] for r in rows),
        "fee_fen": sum(r["fee_fen"] for r in rows),
    }
    return render(
        request,
        "web/fee_statements.html",
        {"form": form, "scheme_year": scheme_year, "rows": rows, "grand": grand},
    )


@staff_required("fees")
def fee_statement_download(request, union_id: int, year: int):
    """The fee statement of one union and year as .xlsx (an export of personal data: logged)."""
    union = union_in_scope_or_404(request.user, union_id)
    scheme_year = get_object_or_404(SchemeYear, year=year)
    data = fee_statement_xlsx(union=union, scheme_year=scheme_year)
    if not data:
        raise Http404("no statement")
    audit_record(
        actor=request.user,
        action="fee_statement.download",
        obj=union,
        after={"year": year, "union": union.code},
    )
    response = HttpResponse(data, content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        True, f"会费清单_{union.code}_{union.name}_{year}.xlsx"
    )
    response["Cache-Control"] = "no-store"
    return response
