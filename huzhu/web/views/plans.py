"""Plans and scheme years (互助方案) under /staff/plans/: upload a plan file (every problem
listed with its path, as `huzhu plan-load` prints them), read a version as the benefit
table members see, compare two versions, and see which claims a new version re-prices.

Uploading a changed file shows a preview first: what changed against the year's current
version, and what loading it would do — the claims re-priced (how many change, by how much)
and the refused settlement records that would now earn claims. The preview is the real load
(`plan_load` and its receivers) run in a transaction that is rolled back, so it cannot
differ from what the confirmation then does. Confirming loads it; the version page then
shows what its load re-priced (the `plan.reprice` audit event).

The plan file is loaded by `plans.services.plan_load` (the command's service); the table is
the service guide's (`portal.selectors.service_guide_rows`), so the three always agree.
"""

from __future__ import annotations

import difflib

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.shortcuts import get_object_or_404, redirect, render

from huzhu.audit.models import AuditEvent
from huzhu.claims.models import Claim, ClaimStatus
from huzhu.core.money import format_fen
from huzhu.enrollment.models import SchemeYear
from huzhu.plans.models import PlanVersion
from huzhu.plans.schema import PlanError, plan_content_hash, plan_from_yaml
from huzhu.plans.selectors import plan_version_current
from huzhu.plans.services import plan_load
from huzhu.portal.selectors import service_guide_rows
from huzhu.web.permissions import PAGE_ROLES, can_open, staff_required

MAX_PLAN_BYTES = 256 * 1024
# Claims a new plan version re-prices: not yet paid, not final, amount not fixed.
_OPEN = [ClaimStatus.SUBMITTED, ClaimStatus.UNION_REVIEWED, ClaimStatus.APPROVED]


def _table(version) -> list[tuple[str, str]]:
    """A version (or a parsed Plan) as (item, text) lines: the guide's rows, bands and lump
    sums."""
    guide = service_guide_rows(version.plan() if isinstance(version, PlanVersion) else version)
    lines = [(str(item), str(text)) for item, text in guide["rows"]]
    lines += [(f"补助比例：{label}", ratio) for label, ratio in guide["bands"]]
    for name, amount, condition, frequency in guide["lump_sums"]:
        lines.append((name, f"{amount}；{condition}；{frequency}"))
    return lines


class _Preview(Exception):
    """Raised inside the preview's transaction to roll the load back."""

    def __init__(self, result) -> None:
        self.result = result


def _load_preview(text: str, name: str, user):
    """What loading the file would do: the load itself, rolled back (see the module doc)."""
    try:
        with transaction.atomic():
            raise _Preview(plan_load(source_text=text, source_name=name, acting_user=user))
    except _Preview as done:
        return done.result


def _loaded_message(result) -> str:
    v = result.version
    text = f"已加载 {v.scheme_year.year}年度方案第{v.version}版。"
    repriced = result.follow_ups.get("repriced")
    if repriced:
        text += (
            f"按新版本重新计算尚未发放的申请 {repriced['recomputed']} 件，金额变化 "
            f"{repriced['changed']} 件，差额合计 {repriced['difference']} 元。"
        )
    again = result.follow_ups.get("readjudicated")
    if again and again["created"]:
        text += f"此前未获补助的结算记录中 {again['covered']} 条现可补助，新建申请 {again['created']} 件。"
    return text


def _preview(request, text: str, name: str):
    """The preview page of a changed file (nothing is stored)."""
    plan = plan_from_yaml(text)
    current = plan_version_current(plan.year)
    changes = []
    if current is not None:
        old, new = dict(_table(current)), dict(_table(plan))
        for item in list(old) + [k for k in new if k not in old]:
            if old.get(item) != new.get(item):
                changes.append((item, old.get(item), new.get(item)))
    result = _load_preview(text, name, request.user)
    claims = result.follow_ups.get("repriced_claims", [])
    return render(
        request,
        "web/plans/preview.html",
        {
            "plan": plan,
            "current": current,
            "changes": changes,
            "guide": service_guide_rows(plan),
            "repriced": result.follow_ups.get("repriced"),
            "again": result.follow_ups.get("readjudicated"),
            "claims": [(n, format_fen(a), format_fen(b), format_fen(b - a)) for n, a, b in claims],
            "source_text": text,
            "source_name": name,
            "content_hash": plan_content_hash(text),
        },
    )


def _confirm(request):
    """Load a previewed file (sent back with its hash, so what is loaded is what was shown)."""
    text = request.POST.get("source_text", "")
    name = request.POST.get("source_name", "")[:255]
    if not text or plan_content_hash(text) != request.POST.get("content_hash"):
        messages.error(request, "确认的方案文件与预览的不一致，请重新上传。")
        return redirect("web:plan_list")
    result = plan_load(source_text=text, source_name=name, acting_user=request.user)
    v = result.version
    if result.created:
        messages.success(request, _loaded_message(result))
    else:
        messages.info(request, f"与已加载的第{v.version}版完全相同，未作改动。")
    return redirect("web:plan_version", pk=v.pk)


@staff_required(*PAGE_ROLES["plans"])
def plan_list(request):
    """Every scheme year with its plan versions; the upload form for those who may load.

    An upload is checked (problems listed), an identical file changes nothing, a changed one
    is previewed; `confirm` loads the previewed file."""
    problems = []
    may_load = can_open(request.user, "plan_load")
    if request.method == "POST":
        if not may_load:
            raise PermissionDenied("may not load plans")
        if request.POST.get("confirm"):
            try:
                return _confirm(request)
            except PlanError as exc:
                problems = exc.problems
        else:
            upload = request.FILES.get("file")
            if upload is None:
                messages.error(request, "请选择方案文件（.yaml）。")
            elif upload.size > MAX_PLAN_BYTES:
                messages.error(request, "方案文件过大（上限 256 KB）。")
            else:
                try:
                    text = upload.read().decode("utf-8-sig")
                    plan = plan_from_yaml(text)
                    same = PlanVersion.objects.filter(
                        scheme_year__year=plan.year, content_hash=plan_content_hash(text)
                    ).first()
                    if same is None:
                        return _preview(request, text, upload.name)
                except UnicodeDecodeError:
                    messages.error(request, "方案文件应为 UTF-8 编码的 YAML 文本。")
                except PlanError as exc:
                    problems = exc.problems
                else:
                    messages.info(request, f"与已加载的第{same.version}版完全相同，未作改动。")
                    return redirect("web:plan_version", pk=same.pk)
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
    """Claims of the version's year still priced under another version: the open, unfixed
    ones (the current version re-priced them when it was loaded; any left were not priced
    then, e.g. a manual claim waiting for its amount), and the fixed or paid ones (they keep
    the version they used)."""
    claims = Claim.objects.filter(scheme_year_id=version.scheme_year_id).exclude(
        plan_version_id=version.pk
    )
    repriced = claims.filter(status__in=_OPEN, is_fixed=False)
    kept = claims.filter(Q(is_fixed=True) | Q(status=ClaimStatus.PAID))
    return repriced, kept


def _load_effect(version: PlanVersion) -> dict | None:
    """What loading `version` re-priced (its `plan.reprice` audit event), for the page."""
    event = (
        AuditEvent.objects.filter(
            action="plan.reprice", object_type="plans.planversion", object_id=str(version.pk)
        )
        .order_by("-id")
        .first()
    )
    if event is None:
        return None
    after = dict(event.after or {})
    after["claims"] = [
        (n, format_fen(a), format_fen(b), format_fen(b - a)) for n, a, b in after.get("claims", [])
    ]
    return after


@staff_required(*PAGE_ROLES["plans"])
def plan_version(request, pk: int):
    """One version as the benefit table members see, with the claims it would re-price."""
    version = get_object_or_404(PlanVersion.objects.select_related("scheme_year"), pk=pk)
    others = PlanVersion.objects.filter(scheme_year=version.scheme_year).exclude(pk=pk)
    guide = service_guide_rows(version.plan())
    repriced, kept = _repricing(version)
    current = plan_version_current(version.scheme_year.year)
    return render(
        request,
        "web/plans/version.html",
        {
            "version": version,
            "is_current": current is not None and current.pk == version.pk,
            "current": current,
            "effect": _load_effect(version),
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
