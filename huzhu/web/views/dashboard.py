from django.db.models import Count, Sum
from django.shortcuts import render

from huzhu.enrollment.models import Enrollment
from huzhu.members.models import Member
from huzhu.organizations.selectors import union_visible_ids
from huzhu.reports.dashboards import dashboard_for
from huzhu.web.permissions import can_open, staff_required

from ._common import current_scheme_year


@staff_required("dashboard")
def dashboard(request):
    """Staff home (工作台): links to the pages this role may open, with a few counts."""
    scheme_year = current_scheme_year()
    # Pending work first, then the figures the role steers by (huzhu.reports.dashboards).
    context = {"scheme_year": scheme_year, "board": dashboard_for(request.user)}
    if can_open(request.user, "members"):
        visible = union_visible_ids(request.user)
        members = Member.objects.all()
        enrollments = Enrollment.objects.filter(withdrawn_at__isnull=True)
        if visible is not None:
            members = members.filter(union_id__in=visible)
            enrollments = enrollments.filter(union_id__in=visible)
        context["member_count"] = members.count()
        if scheme_year is not None:
            context["enrollment_totals"] = enrollments.filter(scheme_year=scheme_year).aggregate(
                count=Count("id"), fee_fen=Sum("fee_fen")
            )
    return render(request, "web/dashboard.html", context)
