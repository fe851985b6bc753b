from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from huzhu.audit.services import audit_record
from huzhu.enrollment.fees import fee_statement_xlsx
from huzhu.enrollment.models import FeeReceipt, SchemeYear
from huzhu.enrollment.receipts import (
    FEE_RECEIPT_ROLES,
    FeeReceiptError,
    fee_positions,
    fee_receipt_add,
    fee_receipts_of,
    may_add_fee_receipt,
)
from huzhu.organizations.selectors import union_list_visible, union_visible_ids
from huzhu.web.forms import FeeReceiptForm, FeeStatementForm
from huzhu.web.permissions import staff_required

from ._common import current_scheme_year, union_in_scope_or_404

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _render_list(request, scheme_year, form, receipt_form, status=200):
    unions = list(union_list_visible(request.user).order_by("code"))
    positions = {}
    receipts = []
    if scheme_year is not None:
        positions = fee_positions(scheme_year=scheme_year, union_ids=[u.id for u in unions])
        receipts = list(fee_receipts_of(scheme_year=scheme_year, union_ids=[u.id for u in unions]))
    rows = []
    for u in unions:
        p = positions.get(u.id)
        rows.append(
            {
                "union": u,
                "count": p.members if p else 0,
                "fee_fen": p.due_fen if p else 0,
                "received_fen": p.received_fen if p else 0,
                "outstanding_fen": p.outstanding_fen if p else 0,
            }
        )
    grand = {
        k: sum(r[k] for r in rows) for k in ("count", "fee_fen", "received_fen", "outstanding_fen")
    }
    return render(
        request,
        "web/fee_statements.html",
        {
            "form": form,
            "scheme_year": scheme_year,
            "rows": rows,
            "grand": grand,
            "receipts": receipts,
            "receipt_form": receipt_form,
        },
        status=status,
    )


@staff_required("fees")
def fee_statement_list(request):
    """会费清单: per visible union, the year's fee due, received and outstanding, with the
    statements to download, the receipts, and (finance) the form to record a receipt."""
    form = FeeStatementForm(request.GET or None)
    scheme_year = None
    if form.is_bound and form.is_valid():
        scheme_year = form.cleaned_data["year"]
    scheme_year = scheme_year or current_scheme_year()
    receipt_form = None
    if may_add_fee_receipt(request.user):
        receipt_form = FeeReceiptForm(
            user=request.user, initial={"year": scheme_year.year if scheme_year else None}
        )
    return _render_list(request, scheme_year, form, receipt_form)


@require_POST
@staff_required(FEE_RECEIPT_ROLES)
def fee_receipt_add_view(request):
    """Record a receipt (finance); refusals are shown on the form, nothing written."""
    receipt_form = FeeReceiptForm(request.POST, request.FILES, user=request.user)
    if receipt_form.is_valid():
        data = receipt_form.cleaned_data
        upload = data.get("voucher")
        try:
            receipt = fee_receipt_add(
                union=data["union"],
                scheme_year=data["year"],
                amount_fen=data["amount"],
                received_on=data["received_on"],
                acting_user=request.user,
                payer_name=data["payer_name"],
                note=data["note"],
                voucher=upload.read() if upload else None,
                voucher_name=upload.name if upload else "",
            )
        except FeeReceiptError as exc:
            field = {"received_on": "received_on", "amount": "amount", "voucher": "voucher"}
            receipt_form.add_error(field.get(exc.field), exc.message)
        else:
            messages.success(
                request,
                f"已登记 {receipt.union.name} {receipt.scheme_year.year}年度会费到账。",
            )
            return redirect(f"{reverse('web:fee_statements')}?year={data['year'].year}")
    scheme_year = None
    if receipt_form.is_bound and "year" in receipt_form.cleaned_data:
        scheme_year = receipt_form.cleaned_data["year"]
    return _render_list(
        request,
        scheme_year or current_scheme_year(),
        FeeStatementForm(),
        receipt_form,
        status=400,
    )


@staff_required("fees")
def fee_receipt_voucher(request, pk: int):
    """A receipt's voucher file, to staff who may see the union (the same 404 otherwise)."""
    receipt = get_object_or_404(FeeReceipt, pk=pk)
    visible = union_visible_ids(request.user)
    if (visible is not None and receipt.union_id not in visible) or not receipt.voucher:
        raise Http404("no voucher")
    response = FileResponse(
        receipt.voucher.open("rb"), content_type=receipt.voucher_content_type or None
    )
    response["Content-Disposition"] = content_disposition_header(
        False, receipt.voucher_name or receipt.voucher.name.rsplit("/", 1)[-1]
    )
    response["Cache-Control"] = "private, no-store"
    return response


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
