"""Claim review pages (理赔审核) under /staff/claims/review/.

Union operators: their union's first review (`submitted -> union_reviewed | returned`) and
filing a claim for one of their members. Federation reviewers: approve (engine amount, or an
override with a reason), reject, return. Every step is the claims core's service function;
these views parse the form, call it, and show its message.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from huzhu.claims.error_codes import ClaimError
from huzhu.claims.filing import claim_file, claim_refile
from huzhu.claims.member_selectors import coverage_current
from huzhu.claims.models import ClaimFiler, ClaimSource, ClaimStatus
from huzhu.claims.pricing import (
    AmountPreview,
    manual_claim_amount,
    manual_claim_amount_with_override,
    manual_claim_preview,
)
from huzhu.claims.selectors import (
    ClaimFilters,
    access_claim_by_id,
    claim_federation_review_queue,
    claim_timeline,
    claim_union_review_queue,
)
from huzhu.claims.services import (
    ClaimAmount,
    claim_approve,
    claim_reject,
    claim_return,
    claim_union_review,
)
from huzhu.claims.workflow import allowed_steps
from huzhu.core.errors import StepRefused
from huzhu.core.money import MoneyError, yuan_to_fen
from huzhu.members.documents import document_thumbnail, document_upload
from huzhu.members.models import DocumentKind, MemberDocument
from huzhu.members.selectors import access_member_by_id, member_list
from huzhu.organizations.models import Role
from huzhu.organizations.selectors import union_list_visible
from huzhu.web.member.claim_views import BANK_FIELDS, FORM_FIELDS, UPLOAD_KINDS
from huzhu.web.member.claim_views import _form_of as claim_form_values
from huzhu.web.permissions import staff_required

REVIEW_ROLES = (Role.UNION_OPERATOR, Role.FEDERATION_REVIEWER, Role.ADMIN)
AGE_CHOICES = ((1, "1天以上"), (3, "3天以上"), (7, "7天以上"), (15, "15天以上"), (30, "30天以上"))


def _is_reviewer(user) -> bool:
    return user.is_superuser or user.role in (Role.FEDERATION_REVIEWER, Role.ADMIN)


def _filters(request) -> tuple[dict, dict]:
    """Query-string filters -> (ClaimFilters kwargs, the values to show in the form)."""
    shown = {k: request.GET.get(k, "").strip() for k in ("union", "benefit", "age", "q")}
    out: dict = {}
    if shown["q"]:
        out["person"] = shown["q"]
    if shown["union"].isdigit():
        out["union_id"] = int(shown["union"])
    if shown["benefit"]:
        out["benefit_code"] = shown["benefit"]
    if shown["age"].isdigit():
        out["min_wait_days"] = int(shown["age"])
    return out, shown


def _waited_text(waited) -> str:
    if waited is None:
        return ""
    days, hours = waited.days, waited.seconds // 3600
    if days:
        return f"{days}天{hours}小时"
    return f"{hours}小时{(waited.seconds % 3600) // 60}分"


@staff_required(*REVIEW_ROLES)
def review_queue(request):
    """The claims waiting for this user's review, oldest first, with how long each waited."""
    user = request.user
    filters, shown = _filters(request)
    if user.role == Role.UNION_OPERATOR:
        qs, stage = claim_union_review_queue(user, ClaimFilters(**filters)), "union"
    else:
        qs, stage = claim_federation_review_queue(user, ClaimFilters(**filters)), "federation"
    claims = list(qs[:500])
    for claim in claims:
        claim.waited_text = _waited_text(getattr(claim, "waited", None))
    benefit_codes = sorted(
        {(c.benefit_code, c.benefit_name or c.benefit_code) for c in claims}
        | ({(shown["benefit"], shown["benefit"])} if shown["benefit"] else set())
    )
    return render(
        request,
        "web/review/queue.html",
        {
            "claims": claims,
            "stage": stage,
            "shown": shown,
            "unions": union_list_visible(user).order_by("code"),
            "benefits": benefit_codes,
            "ages": AGE_CHOICES,
            "can_file": user.role == Role.UNION_OPERATOR,
        },
    )


# The page's actions for each step of the workflow a user may take.
_STEP_ACTIONS = {
    ClaimStatus.UNION_REVIEWED: ["union_review"],
    ClaimStatus.APPROVED: ["approve", "override"],
    ClaimStatus.REJECTED: ["reject"],
    ClaimStatus.RETURNED: ["return"],
}


def _actions(user, claim) -> list[str]:
    """The actions this user may take on the claim, from the workflow (`allowed_steps`);
    the service re-checks each."""
    steps = allowed_steps(user, claim)
    return [action for step in steps for action in _STEP_ACTIONS.get(step, [])]


def _engine_amount(claim):
    """What approval computes with: the engine for a manual claim; an auto- or one-stop
    claim sent to review keeps the amount its import computed (None = keep it)."""
    if claim.source != ClaimSource.MANUAL and claim.amount_fen is not None:
        return None
    return manual_claim_amount


def _kept_amount(claim) -> AmountPreview:
    return AmountPreview(
        amount=ClaimAmount(amount_fen=claim.amount_fen, explanation=claim.explanation)
    )


@staff_required(*REVIEW_ROLES)
def review_detail(request, pk: int):
    user = request.user
    claim = access_claim_by_id(user, pk)
    actions = _actions(user, claim)
    preview = None
    if "approve" in actions:
        preview = manual_claim_preview(claim) if _engine_amount(claim) else _kept_amount(claim)
    return render(
        request,
        "web/review/detail.html",
        {
            "claim": claim,
            "timeline": claim_timeline(claim),
            "documents": claim.documents.all(),
            "actions": actions,
            "preview": preview,
            "waited": _waited_text(timezone.now() - claim.status_changed_at),
            "can_correct": user.role == Role.UNION_OPERATOR
            and claim.status == ClaimStatus.RETURNED
            and claim.filer != ClaimFiler.MEMBER,
        },
    )


@require_POST
@staff_required(Role.UNION_OPERATOR, Role.FEDERATION_REVIEWER)
def review_act(request, pk: int):
    user = request.user
    claim = access_claim_by_id(user, pk)
    action = request.POST.get("action", "")
    reason = request.POST.get("reason", "").strip()
    try:
        if action == "union_review":
            claim = claim_union_review(claim=claim, acting_user=user, reason=reason)
            done = f"申请{claim.number}已通过初审，转市总工会审核。"
        elif action == "return":
            claim = claim_return(claim=claim, acting_user=user, reason=reason)
            done = f"申请{claim.number}已退回申请人修改。"
        elif action == "reject":
            claim = claim_reject(claim=claim, acting_user=user, reason=reason)
            done = f"申请{claim.number}已作不予通过处理。"
        elif action == "approve":
            claim = claim_approve(
                claim=claim, acting_user=user, amount=_engine_amount(claim), reason=reason
            )
            done = f"申请{claim.number}已核准，金额{claim.amount_fen / 100:.2f}元。"
        elif action == "override":
            raw = request.POST.get("override_amount", "").strip()
            if not raw:
                raise StepRefused("missing", "请填写核定金额")
            try:
                fen = yuan_to_fen(raw.replace(",", ""))
            except MoneyError as exc:
                raise StepRefused("amount", f"核定金额：{exc.message}") from None
            claim = claim_approve(
                claim=claim,
                acting_user=user,
                amount=manual_claim_amount_with_override(fen),
                override_amount_fen=fen,
                override_reason=reason,
            )
            done = f"申请{claim.number}已按核定金额{fen / 100:.2f}元核准。"
        else:
            messages.error(request, "未知的操作。")
            return redirect("web:review_detail", pk=claim.pk)
    except (ClaimError, StepRefused) as exc:
        messages.error(request, exc.message)
        return redirect("web:review_detail", pk=claim.pk)
    messages.success(request, done)
    return redirect("web:review_queue")


def _uploads(request, member, errors: dict) -> list[MemberDocument]:
    """The papers kept from the last try plus the files of this post (bad ones reported)."""
    ids = [i for i in request.POST.getlist("documents") if i.isdigit()]
    docs = list(MemberDocument.objects.filter(member=member, claim__isnull=True, pk__in=ids))
    for kind in UPLOAD_KINDS:
        for upload in request.FILES.getlist(f"file_{kind}"):
            try:
                docs.append(
                    document_upload(
                        member=member,
                        kind=kind,
                        data=upload.read(),
                        name=upload.name,
                        acting_user=request.user,
                    )
                )
            except StepRefused as exc:
                errors.setdefault(f"file_{kind}", []).append(exc.message)
    return docs


@staff_required(Role.UNION_OPERATOR)
def review_file_claim(request):
    """A union operator files a claim for one of its members (goes to the federation)."""
    user = request.user
    member = None
    member_id = request.GET.get("member") or request.POST.get("member")
    if member_id:
        if not str(member_id).isdigit():
            raise Http404("no such member")
        member = access_member_by_id(user, member_id)
    # Without a member: find one by name or ID number among the union's members.
    q = request.GET.get("q", "").strip()
    found = list(member_list(user=user, q=q).select_related("union")[:20]) if q else []
    errors: dict = {}
    form = {name: "" for name in FORM_FIELDS}
    bank = {name: "" for name in BANK_FIELDS}
    docs: list[MemberDocument] = []
    benefits = []
    if member is not None:
        coverage = coverage_current(member)
        benefits = coverage.benefits if coverage else []
        bank["account_name"] = member.name
    if member is not None and request.method == "POST":
        form = {name: request.POST.get(name, "").strip() for name in FORM_FIELDS}
        bank = {name: request.POST.get(name, "").strip() for name in BANK_FIELDS}
        docs = _uploads(request, member, errors)
        if not errors:
            try:
                claim = claim_file(
                    acting_user=user,
                    member=member,
                    raw=form,
                    document_ids=[d.pk for d in docs],
                    bank=bank,
                )
            except StepRefused as exc:
                errors[exc.field or "form"] = [exc.message]
            else:
                messages.success(
                    request, f"已为{member.name}提交申请{claim.number}，转市总工会审核。"
                )
                return redirect("web:review_detail", pk=claim.pk)
    return render(
        request,
        "web/review/file_claim.html",
        {
            "member": member,
            "form": form,
            "bank": bank,
            "errors": errors,
            "docs": docs,
            "benefits": benefits,
            "need_bank": member is not None and not member.bank_account_last4,
            "kinds": [(k, DocumentKind(k).label) for k in UPLOAD_KINDS],
            "q": q,
            "found": found,
        },
    )


@staff_required(Role.UNION_OPERATOR)
def review_correct(request, pk: int):
    """The operator corrects a returned claim that the union (or the platform) filed and
    sends it again; a member-filed claim is corrected by the member."""
    user = request.user
    claim = access_claim_by_id(user, pk)
    if claim.status != ClaimStatus.RETURNED or claim.filer == ClaimFiler.MEMBER:
        messages.error(request, f"申请{claim.number}不是由工会提交的退回申请，不能在此修改。")
        return redirect("web:review_detail", pk=claim.pk)
    member = claim.member
    errors: dict = {}
    form = claim_form_values(claim)
    docs: list[MemberDocument] = []
    if request.method == "POST":
        form = {name: request.POST.get(name, "").strip() for name in FORM_FIELDS}
        docs = _uploads(request, member, errors)
        if not errors:
            try:
                claim = claim_refile(
                    acting_user=user, claim=claim, raw=form, document_ids=[d.pk for d in docs]
                )
            except StepRefused as exc:
                errors[exc.field or "form"] = [exc.message]
            else:
                messages.success(request, f"申请{claim.number}已修改并重新提交市总工会。")
                return redirect("web:review_detail", pk=claim.pk)
    coverage = coverage_current(member)
    return render(
        request,
        "web/review/file_claim.html",
        {
            "claim": claim,
            "member": member,
            "form": form,
            "bank": {},
            "errors": errors,
            "docs": docs,
            "benefits": coverage.benefits if coverage else [],
            "need_bank": False,
            "kinds": [(k, DocumentKind(k).label) for k in UPLOAD_KINDS[:3]],
        },
    )


@staff_required(*REVIEW_ROLES)
def review_document(request, pk: int):
    """A claim's uploaded paper, for staff who may see the claim."""
    doc = MemberDocument.objects.filter(pk=pk, claim__isnull=False).first()
    if doc is None:
        raise Http404("no such document")
    access_claim_by_id(request.user, doc.claim_id)
    if request.GET.get("thumb") and doc.content_type.startswith("image/"):
        # A small copy for the review page's thumbnails (the full paper is the link).
        response = HttpResponse(document_thumbnail(doc), content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=3600"
        return response
    return FileResponse(doc.file.open("rb"), content_type=doc.content_type)


__all__ = [
    "review_act",
    "review_correct",
    "review_detail",
    "review_document",
    "review_file_claim",
    "review_queue",
]
