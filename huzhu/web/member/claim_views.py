"""Member pages for claims: list, new claim with papers, detail with timeline, correction."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from huzhu.claims import member_selectors as selectors
from huzhu.claims.filing import claim_file, claim_keep_draft, claim_refile, invoice_claimed_by
from huzhu.claims.models import ClaimStatus
from huzhu.claims.selectors import access_claim_by_id, claim_timeline
from huzhu.core.errors import StepRefused
from huzhu.core.money import fen_to_yuan
from huzhu.members.documents import document_upload
from huzhu.members.models import DocumentKind, MemberDocument

from .auth import member_required

FORM_FIELDS = (
    "benefit_code",
    "hospital_name",
    "admit_date",
    "discharge_date",
    "invoice_number",
    "total_cost",
    "fund_paid",
    "self_pay_in_policy",
    "self_pay_out_policy",
    "diagnosis_code",
    "diagnosis_pick",  # a disease picked by its Chinese name (its code), when no code typed
)
BANK_FIELDS = ("account_name", "bank_name", "bank_account")
UPLOAD_KINDS = (
    DocumentKind.INVOICE,
    DocumentKind.SETTLEMENT_SHEET,
    DocumentKind.DISCHARGE_SUMMARY,
    DocumentKind.BANK_CARD,
)


def _benefit_choices(member):
    coverage = selectors.coverage_current(member)
    return coverage.benefits if coverage else []


def _save_uploads(request, member, errors: dict) -> list[MemberDocument]:
    """Check and keep every file of the form; a bad one is reported under its kind."""
    saved = []
    for kind in UPLOAD_KINDS:
        for upload in request.FILES.getlist(f"file_{kind}"):
            try:
                saved.append(
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
    return saved


def _kept_documents(request, member) -> list[MemberDocument]:
    ids = [i for i in request.POST.getlist("documents") if i.isdigit()]
    return list(MemberDocument.objects.filter(member=member, claim__isnull=True, pk__in=ids))


def _prefill_from_invoice(form: dict, docs, errors: dict, member) -> list[str]:
    """Fill empty fields from an invoice QR code; returns what was filled, for the member.
    An invoice already used by a live claim is reported at once."""
    filled = []
    for doc in docs:
        qr = doc.invoice_qr or {}
        if not qr.get("number"):
            continue
        used = invoice_claimed_by(qr, member)
        if used:
            errors.setdefault("file_invoice", []).append(used)
        if not form.get("invoice_number"):
            form["invoice_number"] = qr["number"]
            filled.append(f"发票号码{qr['number']}")
        if qr.get("amount_fen") is not None and not form.get("total_cost"):
            form["total_cost"] = fen_to_yuan(qr["amount_fen"])
            filled.append(f"金额{form['total_cost']}元")
        if qr.get("issued_on") and not form.get("discharge_date"):
            form["discharge_date"] = qr["issued_on"]
            filled.append(f"开票日期{qr['issued_on']}（已填为出院日期）")
    return filled


@member_required
def claim_list(request):
    member = request.member
    claims = list(selectors.claims_of_member(member))
    for c in claims:
        c.next_step = selectors.claim_next_step_of(c, member)
    return render(
        request,
        "member/claim_list.html",
        {"member": member, "claims": claims, "back_url": "/m/"},
    )


def _form_of(claim) -> dict:
    form = {
        "benefit_code": claim.benefit_code,
        "hospital_name": claim.hospital_name,
        "admit_date": claim.admit_date.isoformat() if claim.admit_date else "",
        "discharge_date": claim.discharge_date.isoformat() if claim.discharge_date else "",
        "invoice_number": claim.invoice_number or "",
        "diagnosis_code": claim.diagnosis_code,
    }
    for name in ("total_cost", "fund_paid", "self_pay_in_policy", "self_pay_out_policy"):
        value = getattr(claim, f"{name}_fen")
        form[name] = fen_to_yuan(value) if value is not None else ""
    return form


@member_required
def claim_new(request):
    """A new claim, or the member's saved draft (`?draft=<id>`): save as draft, or submit."""
    member = request.member
    draft = None
    draft_id = request.GET.get("draft") or request.POST.get("draft")
    if draft_id:
        draft = access_claim_by_id(request.user, draft_id)
        if draft.status != ClaimStatus.DRAFT:
            return redirect("member:claim_detail", pk=draft.pk)
    errors: dict = {}
    form = _form_of(draft) if draft else {name: "" for name in FORM_FIELDS}
    bank = {"account_name": member.name, "bank_name": "", "bank_account": ""}
    docs: list[MemberDocument] = []
    prefilled: list[str] = []
    stop_claim = None
    benefits = _benefit_choices(member)
    if benefits and not form["benefit_code"]:
        form["benefit_code"] = benefits[0].code
    if request.method == "POST":
        form = {name: request.POST.get(name, "").strip() for name in FORM_FIELDS}
        bank = {name: request.POST.get(name, "").strip() for name in BANK_FIELDS}
        docs = _kept_documents(request, member)
        new_docs = _save_uploads(request, member, errors)
        docs += new_docs
        prefilled = _prefill_from_invoice(form, new_docs, errors, member)
        action = request.POST.get("action")
        try:
            if not errors and action == "draft":
                draft = claim_keep_draft(
                    acting_user=request.user,
                    member=member,
                    raw=form,
                    document_ids=[d.pk for d in docs],
                    draft=draft,
                )
                messages.success(request, "已保存为草稿，可随时继续填写后提交。")
                return redirect("member:claim_detail", pk=draft.pk)
            if not errors and not prefilled and action == "submit":
                claim = claim_file(
                    acting_user=request.user,
                    member=member,
                    raw=form,
                    document_ids=[d.pk for d in docs],
                    bank=bank,
                    draft=draft,
                )
                messages.success(request, f"申请已提交（申请号{claim.number}），请等待工会审核。")
                return redirect("member:claim_detail", pk=claim.pk)
        except StepRefused as exc:
            errors[exc.field or "form"] = [exc.message]
            stop_claim = exc.claim
    return render(
        request,
        "member/claim_new.html",
        {
            "member": member,
            "draft": draft,
            "draft_docs": draft.documents.all() if draft else [],
            "form": form,
            "bank": bank,
            "errors": errors,
            "docs": docs,
            "prefilled": prefilled,
            "stop_claim": stop_claim,
            "benefits": benefits,
            "need_bank": not member.bank_account_last4,
            "kinds": [(k, DocumentKind(k).label) for k in UPLOAD_KINDS],
            "back_url": "/m/claims/",
        },
    )


@member_required
def claim_detail(request, pk: int):
    member = request.member
    claim = access_claim_by_id(request.user, pk)
    return render(
        request,
        "member/claim_detail.html",
        {
            "member": member,
            "claim": claim,
            "timeline": claim_timeline(claim),
            "next_step": selectors.claim_next_step_of(claim, member),
            "documents": claim.documents.all(),
            "adjustments": claim.adjustments.order_by("created_at", "id"),
            # The member may correct any returned claim of theirs, whoever filed it.
            "can_correct": claim.status == ClaimStatus.RETURNED,
            "back_url": "/m/claims/",
        },
    )


@member_required
def claim_correct(request, pk: int):
    """A returned claim: the member corrects it (and may add papers) and sends it again."""
    member = request.member
    claim = access_claim_by_id(request.user, pk)
    if claim.status != ClaimStatus.RETURNED:
        messages.error(
            request, f"申请{claim.number}当前状态为“{claim.get_status_display()}”，无需修改。"
        )
        return redirect("member:claim_detail", pk=claim.pk)
    errors: dict = {}
    form = _form_of(claim)
    docs: list[MemberDocument] = []
    if request.method == "POST":
        form = {name: request.POST.get(name, "").strip() for name in FORM_FIELDS}
        docs = _kept_documents(request, member) + _save_uploads(request, member, errors)
        if not errors and request.POST.get("action") == "submit":
            try:
                claim = claim_refile(
                    acting_user=request.user,
                    claim=claim,
                    raw=form,
                    document_ids=[d.pk for d in docs],
                )
            except StepRefused as exc:
                errors[exc.field or "form"] = [exc.message]
            else:
                messages.success(request, f"申请{claim.number}已重新提交。")
                return redirect("member:claim_detail", pk=claim.pk)
    return render(
        request,
        "member/claim_new.html",
        {
            "member": member,
            "claim": claim,
            "form": form,
            "errors": errors,
            "docs": docs,
            "benefits": _benefit_choices(member),
            "need_bank": False,
            "kinds": [(k, DocumentKind(k).label) for k in UPLOAD_KINDS[:3]],
            "back_url": f"/m/claims/{claim.pk}/",
        },
    )


@member_required
@require_POST
def invoice_scan(request):
    """Progressive enhancement of the claim form: upload the invoice at once, read its QR.

    Returns JSON: {"document": id, "name": ..., "invoice": {...} | null} or {"error": msg}.
    """
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"error": "请选择发票照片或PDF"}, status=400)
    try:
        doc = document_upload(
            member=request.member,
            kind=DocumentKind.INVOICE,
            data=upload.read(),
            name=upload.name,
            acting_user=request.user,
        )
    except StepRefused as exc:
        return JsonResponse({"error": exc.message, "code": exc.code}, status=400)
    qr = doc.invoice_qr or None
    if qr and qr.get("amount_fen") is not None:
        qr = {**qr, "amount": fen_to_yuan(qr["amount_fen"])}
    used = invoice_claimed_by(qr, request.member)
    if used:
        doc.file.delete(save=False)  # not kept: it cannot be used for a claim
        doc.delete()
        return JsonResponse({"error": used, "code": "duplicate_invoice"}, status=400)
    return JsonResponse({"document": doc.pk, "name": doc.original_name, "invoice": qr})


@member_required
def document_view(request, pk: int):
    """One of the member's own uploaded files."""
    doc = MemberDocument.objects.filter(pk=pk, member=request.member).first()
    if doc is None:
        raise Http404("no such document")
    return FileResponse(doc.file.open("rb"), content_type=doc.content_type)
