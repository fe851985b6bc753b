"""Plans and scheme years (互助方案) under /staff/plans/: upload a plan file (every problem
listed with its path, as `huzhu plan-load` prints them), read a version as the benefit
table members see, compare two versions, and see which claims a new version would re-price.

The plan file is loaded by `plans.services.plan_load` (the command's service); the table is
the service guide's (`portal.selectors.service_guide_rows`), so the three always agree.
"""

from __future__ import annotations

import difflib

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, Sum
from django.shortcuts import get_object_or_404, redirect, render

from huzhu.claims.models import Claim, ClaimStatus
from huzhu.enrollment.models import SchemeYear
from huzhu.plans.models import PlanVersion
from huzhu.plans.schema import PlanError
from huzhu.plans.services import plan_load
from huzhu.portal.selectors import service_guide_rows
from huzhu.web.permissions import PAGE_ROLES, can_open, staff_required

MAX_PLAN_BYTES = 256 * 1024
# Claims a new plan version re-prices: not yet paid, not final, amount not fixed.
_OPEN = [ClaimStatus.SUBMITTED, ClaimStatus.UNION_REVIEWED, ClaimStatus.APPROVED]


def _table(version: PlanVersion) -> list[tuple[str, str]]:
    """The version as (item, text) lines: the guide's rows, bands and lump sums."""
    guide = service_guide_rows(version.plan())
    lines = [(str(item), str(text)) for item, text in guide["rows"]]
    lines += [(f"补助比例：{label}", ratio) for label, ratio in guide["bands"]]
    for name, amount, condition, frequency in guide["lump_sums"]:
        lines.append((name, f"{amount}；{condition}；{frequency}"))
    return lines


@staff_required(*PAGE_ROLES["plans"])
def plan_list(request):
    """Every scheme year with its plan versions; the upload form for those who may load."""
    problems = []
    may_load = can_open(request.user, "plan_load")
    if request.method == "POST":
        if not may_load:
            raise PermissionDenied("may not load plans")
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, "请选择方案文件（.yaml）。")
        elif upload.size > MAX_PLAN_BYTES:
            messages.error(request, "方案文件过大（上限 256 KB）。")
        else:
            try:
                text = upload.read().decode("utf-8-sig")
                result = plan_load(
                    source_text=text, source_name=upload.name, acting_user=request.user
                )
            except UnicodeDecodeError:
                messages.error(request, "方案文件应为 UTF-8 编码的 YAML 文本。")
            except PlanError as exc:
                problems = exc.problems
            else:
                v = result.version
                if result.created:
                    messages.success(
                        request, f"已加载 {v.scheme_year.year}年度方案第{v.version}版。"
                    )
                else:
                    messages.info(request, f"与已加载的第{v.version}版完全相同，未作改动。")
                return redirect("web:plan_version", pk=v.pk)
    years = []
    for y in SchemeYear.objects.prefetch_related("plan_versions__loaded_by").order_by("-year"):
        versions = list(y.plan_versions.all())  # newest first
        years.append(
            (
                y,
                [
                    (v, versions[i + 1] if i + 1 < len(versions) else None)
                    for i, v in enumerate(versions)
                ],
            )
        )
    return render(
        request,
        "web/plans/list.html",
        {"years": years, "may_load": may_load, "problems": problems},
        status=400 if problems else 200,
    )


def _repricing(version: PlanVersion):
    """Claims of the version's year a move to `version` would re-price, and the ones it
    would not (fixed or paid: a difference becomes a top-up or recovery item)."""
    claims = Claim.objects.filter(scheme_year_id=version.scheme_year_id).exclude(
        plan_version_id=version.pk
    )
    repriced = claims.filter(status__in=_OPEN, is_fixed=False)
    kept = claims.filter(Q(is_fixed=True) | Q(status=ClaimStatus.PAID))
    return repriced, kept


@staff_required(*PAGE_ROLES["plans"])
def plan_version(request, pk: int):
    """One version as the benefit table members see, with the claims it would re-price."""
    version = get_object_or_404(PlanVersion.objects.select_related("scheme_year"), pk=pk)
    others = PlanVersion.objects.filter(scheme_year=version.scheme_year).exclude(pk=pk)
    guide = service_guide_rows(version.plan())
    repriced, kept = _repricing(version)
    return render(
        request,
        "web/plans/version.html",
        {
            "version": version,
            "guide": guide,
            "others": others,
            "repriced": repriced.select_related("member", "union").order_by("number")[:200],
            "repriced_totals": repriced.aggregate(n=Count("id"), fen=Sum("amount_fen")),
            "kept_totals": kept.aggregate(n=Count("id"), fen=Sum("amount_fen")),
        },
    )


@staff_required(*PAGE_ROLES["plans"])
def plan_compare(request):
    """What changed between two versions (`?a=<id>&b=<id>`): item by item, and the files."""
    a = get_object_or_404(PlanVersion, pk=request.GET.get("a") or 0)
    b = get_object_or_404(PlanVersion, pk=request.GET.get("b") or 0)
    old, new = dict(_table(a)), dict(_table(b))
    changes = []
    for item in list(old) + [k for k in new if k not in old]:
        before, after = old.get(item), new.get(item)
        if before != after:
            changes.append((item, before, after))
    diff = list(
        difflib.unified_diff(
            a.source_text.splitlines(),
            b.source_text.splitlines(),
            fromfile=f"{a}",
            tofile=f"{b}",
            lineterm="",
        )
    )
    return render(
        request, "web/plans/compare.html", {"a": a, "b": b, "changes": changes, "diff": diff}
    )
