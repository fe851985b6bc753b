"""Finance pages (市总财务): the queue of payable claims, payment batches, adjustment items.

Views parse, call one payments service, render. Role gate: federation finance (and admins),
`PAGE_ROLES["payments"]`.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db.models import Sum
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from huzhu.claims.models import AdjustmentKind, AdjustmentStatus, ClaimSource, PayeeKind
from huzhu.core.tabular import TabularError
from huzhu.organizations.models import Union
from huzhu.payments.bankfile import BANK_LAYOUTS
from huzhu.payments.error_codes import PaymentError
from huzhu.payments.models import BatchState, PaymentBatch, RowResult
from huzhu.payments.selectors import (
    QueueFilters,
    adjustment_list,
    batch_list,
    payable_claims,
    queue_summary,
)
from huzhu.payments.services import (
    payment_batch_cancel,
    payment_batch_create,
    payment_batch_export,
    payment_batch_import_return,
    payment_batch_mark_sent,
)
from huzhu.reports.fund_reports import fund_balance
from huzhu.web.permissions import staff_required

from ._common import paginate

MAX_RETURN_FILE = 50 * 1024 * 1024


class QueueForm(forms.Form):
    payee_kind = forms.ChoiceField(
        label="收款方", choices=PayeeKind.choices, initial=PayeeKind.MEMBER, required=False
    )
    union = forms.ModelChoiceField(
        label="工会",
        queryset=Union.objects.order_by("code"),
        to_field_name="code",
        required=False,
        empty_label="全部工会",
    )
    benefit = forms.CharField(label="保障项目代码", max_length=32, required=False)
    approved_from = forms.DateField(
        label="核准日期自", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    approved_to = forms.DateField(
        label="至", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    source = forms.ChoiceField(
        label="来源", choices=[("", "全部")] + list(ClaimSource.choices), required=False
    )

    def filters(self) -> QueueFilters:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        union = data.get("union")
        return QueueFilters(
            payee_kind=data.get("payee_kind") or PayeeKind.MEMBER,
            union_code=union.code if union else "",
            benefit_code=(data.get("benefit") or "").strip(),
            approved_from=data.get("approved_from"),
            approved_to=data.get("approved_to"),
            source=data.get("source") or "",
        )


class ReturnUploadForm(forms.Form):
    file = forms.FileField(label="银行回盘文件（.xlsx / .xls / .csv）")
    paid_on = forms.DateField(
        label="发放日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    layout = forms.ChoiceField(
        label="回盘格式",
        required=False,
        choices=[("", "自动识别")] + [(k, v.label) for k, v in BANK_LAYOUTS.items()],
    )

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size > MAX_RETURN_FILE:
            raise forms.ValidationError("文件超过50MB")
        return f


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="撤销原因",
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "撤销原因（选填）"}),
    )


FILTER_LABELS = {
    "payee_kind": "收款方",
    "union": "工会",
    "benefit": "保障项目",
    "approved_from": "核准日期自",
    "approved_to": "核准日期至",
    "source": "来源",
}


def _filter_text(filters: dict) -> str:
    shown = []
    for key, value in filters.items():
        if not value:
            continue
        if key == "payee_kind":
            value = PayeeKind(value).label
        elif key == "source":
            value = ClaimSource(value).label
        shown.append(f"{FILTER_LABELS.get(key, key)}：{value}")
    return "；".join(shown) or "全部"


def _batch_or_404(pk: int) -> PaymentBatch:
    return get_object_or_404(PaymentBatch.objects.select_related("created_by", "sent_by"), pk=pk)


@staff_required("payments")
def payment_queue(request):
    """待发放: the payable claims by filter, and the button that makes a batch of them."""
    form = QueueForm(request.GET or None)
    filters = form.filters()
    claims = payable_claims(filters).select_related("member", "union").order_by("approved_at", "id")
    page = paginate(request, claims)
    return render(
        request,
        "web/payments/queue.html",
        {
            "form": form,
            "page": page,
            "summary": queue_summary(filters),
            "filters": filters,
            "batches": batch_list().exclude(state=BatchState.CANCELLED)[:10],
        },
    )


@require_POST
@staff_required("payments")
def payment_batch_create_view(request):
    form = QueueForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"筛选条件有误：{form.errors.as_text()}")
        return redirect("web:payment_queue")
    try:
        result = payment_batch_create(acting_user=request.user, filters=form.filters())
    except PaymentError as exc:
        detail = "；".join(p.message for p in exc.problems[:20])
        messages.error(request, exc.message + (f"（{detail}）" if detail else ""))
        return redirect("web:payment_queue")
    messages.success(
        request,
        f"已生成代发批次 {result.batch.number}：{result.batch.row_count} 笔，"
        f"{result.batch.claim_count} 个申请"
        + (f"；{len(result.left_out)} 名收款人未纳入（见下方原因）" if result.left_out else ""),
    )
    return redirect("web:payment_batch", pk=result.batch.pk)


@staff_required("payments")
def payment_batches(request):
    page = paginate(request, batch_list())
    return render(request, "web/payments/batches.html", {"page": page})


def batch_fund_warning(batch) -> dict | None:
    """When a batch not yet paid would pay out more than the fund holds: the figures."""
    if batch.state not in (BatchState.OPEN, BatchState.SENT):
        return None
    fund = fund_balance()
    if batch.total_fen <= fund["balance_fen"]:
        return None
    return {
        **fund,
        "batch_fen": batch.total_fen,
        "short_fen": batch.total_fen - fund["balance_fen"],
    }


def _render_batch(request, batch, *, upload_form=None, problems=None, status=200):
    rows = batch.rows.select_related("member").order_by("seq")
    page = paginate(request, rows)
    return render(
        request,
        "web/payments/batch.html",
        {
            "batch": batch,
            "filter_text": _filter_text(batch.filters),
            "page": page,
            "left_out": batch.left_out.all(),
            "upload_form": upload_form or ReturnUploadForm(),
            "cancel_form": CancelForm(),
            "problems": problems or [],
            "returns": batch.returns.select_related("created_by"),
            "offset_count": batch.rows.filter(result=RowResult.OFFSET).count(),
            "fund_warning": batch_fund_warning(batch),
        },
        status=status,
    )


@staff_required("payments")
def payment_batch_detail(request, pk: int):
    return _render_batch(request, _batch_or_404(pk))


@staff_required("payments")
def payment_batch_export_view(request, pk: int, fmt: str):
    batch = _batch_or_404(pk)
    try:
        exported = payment_batch_export(batch=batch, file_format=fmt, acting_user=request.user)
    except PaymentError as exc:
        messages.error(request, exc.message)
        return redirect("web:payment_batch", pk=batch.pk)
    response = HttpResponse(exported.data, content_type=exported.content_type)
    response["Content-Disposition"] = content_disposition_header(True, exported.file_name)
    response["X-Checksum-SHA256"] = exported.checksum
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@staff_required("payments")
def payment_batch_mark_sent_view(request, pk: int):
    batch = _batch_or_404(pk)
    try:
        batch = payment_batch_mark_sent(batch=batch, acting_user=request.user)
    except PaymentError as exc:
        detail = "；".join(p.message for p in exc.problems[:20])
        messages.error(request, exc.message + (f"（{detail}）" if detail else ""))
    else:
        messages.success(request, f"批次 {batch.number} 已标记为已发送银行")
    return redirect("web:payment_batch", pk=pk)


@require_POST
@staff_required("payments")
def payment_batch_return_view(request, pk: int):
    batch = _batch_or_404(pk)
    form = ReturnUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_batch(request, batch, upload_form=form, status=400)
    upload = form.cleaned_data["file"]
    try:
        result = payment_batch_import_return(
            batch=batch,
            data=upload.read(),
            file_name=upload.name,
            acting_user=request.user,
            paid_on=form.cleaned_data["paid_on"],
            layout=form.cleaned_data["layout"] or None,
        )
    except TabularError as exc:
        form.add_error("file", exc.message)
        return _render_batch(request, batch, upload_form=form, status=400)
    except PaymentError as exc:
        messages.error(request, exc.message)
        return _render_batch(
            request, _batch_or_404(pk), upload_form=form, problems=exc.problems, status=400
        )
    if not result.applied:
        messages.info(request, "该回盘文件已经导入过，未做任何更改。")
    else:
        messages.success(
            request,
            f"回盘已导入：成功 {result.success_count} 笔，失败 {result.failed_count} 笔。"
            "失败的申请已退回待发放队列，并已通知职工核对银行卡。",
        )
    return redirect("web:payment_batch", pk=pk)


@require_POST
@staff_required("payments")
def payment_batch_cancel_view(request, pk: int):
    batch = _batch_or_404(pk)
    form = CancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        payment_batch_cancel(batch=batch, acting_user=request.user, reason=reason)
    except PaymentError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"批次 {batch.number} 已撤销，申请已回到待发放队列。")
    return redirect("web:payment_batch", pk=pk)


@staff_required("payments")
def payment_batch_summary(request, pk: int):
    """A print-ready payment summary for signing (代发汇总表)."""
    batch = _batch_or_404(pk)
    by_union = (
        batch.claim_links.values("claim__union__code", "claim__union__name")
        .annotate(fen=Sum("amount_fen"))
        .order_by("claim__union__code")
    )
    by_benefit = (
        batch.claim_links.values("claim__benefit_code", "claim__benefit_name")
        .annotate(fen=Sum("amount_fen"))
        .order_by("claim__benefit_code")
    )
    return render(
        request,
        "web/payments/summary.html",
        {
            "batch": batch,
            "by_union": by_union,
            "by_benefit": by_benefit,
            "rows": batch.rows.order_by("seq")[:200],
            "more_rows": max(0, batch.row_count - 200),
        },
    )


@staff_required("payments")
def adjustment_items(request):
    """追回与补发: recovery and top-up items, open ones first."""
    status = request.GET.get("status", AdjustmentStatus.OPEN)
    kind = request.GET.get("kind", "")
    status = status if status in AdjustmentStatus.values or status == "" else AdjustmentStatus.OPEN
    kind = kind if kind in AdjustmentKind.values else ""
    qs = adjustment_list(status=status, kind=kind)
    return render(
        request,
        "web/payments/adjustments.html",
        {
            "page": paginate(request, qs),
            "status": status,
            "kind": kind,
            "statuses": AdjustmentStatus.choices,
            "kinds": AdjustmentKind.choices,
        },
    )
