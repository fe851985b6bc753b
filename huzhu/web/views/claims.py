"""The staff claim list (auto and manual claims) and claim detail with its breakdown, under
/staff/claims/. Union operators see their union's claims; federation staff see all."""

from __future__ import annotations

from django.shortcuts import render

from huzhu.claims.models import ClaimSource, ClaimStatus
from huzhu.claims.selectors import ClaimFilters, access_claim_by_id, claim_list, claim_timeline
from huzhu.organizations.selectors import union_list_visible
from huzhu.settlements.selectors import settlement_record_for_claim
from huzhu.web.permissions import staff_required

from ._common import paginate
from ._exports import export_xlsx


def _filters(request) -> tuple[ClaimFilters, dict]:
    shown = {
        k: request.GET.get(k, "").strip()
        for k in ("status", "source", "union", "benefit", "number", "year", "q")
    }
    f = ClaimFilters(
        status=shown["status"] if shown["status"] in ClaimStatus.values else None,
        source=shown["source"] if shown["source"] in ClaimSource.values else None,
        union_id=int(shown["union"]) if shown["union"].isdigit() else None,
        benefit_code=shown["benefit"] or None,
        number=shown["number"] or None,
        scheme_year=int(shown["year"]) if shown["year"].isdigit() else None,
        person=shown["q"] or None,
    )
    return f, shown


@staff_required("members")
def claim_list_view(request):
    filters, shown = _filters(request)
    qs = claim_list(request.user, filters)
    if request.GET.get("export") == "xlsx":
        return export_xlsx(request, "claims", qs, shown)
    benefits = sorted(
        set(claim_list(request.user).values_list("benefit_code", "benefit_name").distinct())
    )
    return render(
        request,
        "web/claims/list.html",
        {
            "page": paginate(request, qs),
            "shown": shown,
            "statuses": ClaimStatus.choices,
            "sources": ClaimSource.choices,
            "unions": union_list_visible(request.user),
            "benefits": benefits,
        },
    )


@staff_required("members")
def claim_detail_view(request, pk: int):
    claim = access_claim_by_id(request.user, pk)
    record = settlement_record_for_claim(claim)
    timeline = claim_timeline(claim)
    return render(
        request,
        "web/claims/detail.html",
        {
            "claim": claim,
            "breakdown": claim.breakdown or {},
            "timeline": timeline,
            "record": record,
            "adjustments": claim.adjustments.order_by("created_at"),
        },
    )
