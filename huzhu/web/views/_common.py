"""Small helpers shared by the staff views."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404
from django.utils import timezone

from huzhu.enrollment.models import SchemeYear
from huzhu.organizations.models import Union
from huzhu.organizations.selectors import union_visible_ids

PAGE_SIZE = 50


def current_scheme_year(today=None) -> SchemeYear | None:
    """The scheme year containing today, else the latest one (None when there are none)."""
    today = today or timezone.localdate()
    years = SchemeYear.objects.order_by("-year")
    return years.filter(start__lte=today, end__gte=today).first() or years.first()


def union_in_scope_or_404(user, union_id) -> Union:
    """The union if the user may see it; 404 for missing and out-of-scope alike."""
    visible = union_visible_ids(user)
    if visible is not None and int(union_id) not in visible:
        raise Http404("union not found")
    try:
        return Union.objects.get(pk=union_id)
    except Union.DoesNotExist:
        raise Http404("union not found")


def paginate(request, object_list, per_page: int = PAGE_SIZE):
    return Paginator(object_list, per_page).get_page(request.GET.get("page"))
