"""Enrollment import through the web (参保名单导入): upload -> preview -> confirm.

The upload is kept under a random token (huzhu.web.uploads) between the preview and the
confirmation; both call the same `enrollment_import` service, the preview with dry_run.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from huzhu.enrollment.consent import consent_text_current
from huzhu.enrollment.models import EnrollmentImport, SchemeYear
from huzhu.enrollment.services import TabularError, enrollment_import
from huzhu.enrollment.sheets import enrollment_problems_xlsx, enrollment_template_xlsx
from huzhu.organizations.selectors import union_visible_ids
from huzhu.web import uploads
from huzhu.web.forms import EnrollmentImportForm
from huzhu.web.permissions import is_federation_staff, staff_required

from ._common import union_in_scope_or_404

PREVIEW_PAGE_SIZE = 200

STATUS_LABELS = {
    "new": "新参保",
    "renewal": "续保",
    "already_enrolled": "已参保",
    "error": "有问题",
}


class UploadGone(Exception):
    """The token is unknown to this session, or its file was already used or pruned."""


@staff_required("enrollment_import")
def import_start(request):
    """Choose the year (and union, for federation staff) and upload the sheet."""
    federation = is_federation_staff(request.user)
    form = EnrollmentImportForm(
        request.POST or None, request.FILES or None, user=request.user, federation=federation
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = b"".join(upload.chunks())
        token = uploads.upload_store(data)
        enrolled_on = form.cleaned_data["enrolled_on"]
        uploads.session_remember(
            request.session,
            token,
            {
                "file_name": upload.name[-255:],
                "union_id": form.cleaned_data["union"].id,
                "year": form.cleaned_data["scheme_year"].year,
                "enrolled_on": enrolled_on.isoformat() if enrolled_on else None,
                "user_id": request.user.pk,
                "consent_attested": form.cleaned_data["consent_attested"],
            },
        )
        return redirect("web:enrollment_import_preview", token=token)

    visible = union_visible_ids(request.user)
    batches = EnrollmentImport.objects.select_related("union", "scheme_year", "created_by")
    if visible is not None:
        batches = batches.filter(union_id__in=visible)
    return render(
        request,
        "web/enrollment_import.html",
        {
            "form": form,
            "federation": federation,
            "batches": batches[:10],
            "consent_text": consent_text_current(),
        },
        status=400 if form.is_bound else 200,
    )


def _load_upload(request, token: str, *, read: bool = True):
    """The upload's bytes (None unless `read`) and what it is for; raises UploadGone,
    Http404 for out-of-scope."""
    meta = uploads.session_lookup(request.session, token)
    if meta is None or meta.get("user_id") != request.user.pk:
        raise UploadGone
    data = uploads.upload_read(token) if read else None
    if read and data is None:
        uploads.session_forget(request.session, token)
        raise UploadGone
    # Scope is checked again at every step: the account may have changed since the upload.
    union = union_in_scope_or_404(request.user, meta["union_id"])
    if not is_federation_staff(request.user) and union.id != request.user.union_id:
        raise Http404("an operator imports for their own union only")
    scheme_year = get_object_or_404(SchemeYear, year=meta["year"])
    enrolled_on = dt.date.fromisoformat(meta["enrolled_on"]) if meta.get("enrolled_on") else None
    return meta, data, union, scheme_year, enrolled_on


def _upload_gone(request):
    messages.error(request, "上传的文件已失效（已导入、已取消或超过一天），请重新上传。")
    return redirect("web:enrollment_import")


def _unreadable(request, token: str, exc: TabularError):
    """A file that cannot be used at all (no header, missing columns): back to the upload."""
    uploads.upload_delete(token)
    uploads.session_forget(request.session, token)
    messages.error(request, exc.message)
    return redirect("web:enrollment_import")


def _run(request, token: str, *, dry_run: bool, valid_only: bool = False):
    meta, data, union, scheme_year, enrolled_on = _load_upload(request, token)
    result = enrollment_import(
        data=data,
        file_name=meta["file_name"],
        union=union,
        scheme_year=scheme_year,
        valid_only=valid_only,
        enrolled_on=enrolled_on,
        dry_run=dry_run,
        acting_user=request.user,
        # The operator ticked the attestation on the upload page (required there).
        consent_attested=bool(meta.get("consent_attested")),
    )
    return meta, union, scheme_year, enrolled_on, result


def _preview_context(request, token, meta, union, scheme_year, enrolled_on, result):
    only_errors = request.GET.get("only") == "errors"
    rows = [r for r in result.preview if r.status == "error"] if only_errors else result.preview
    page = Paginator(rows, PREVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
    # Problems that belong to no data row (missing header, unreadable file) come first.
    file_problems = [p for p in result.problems if not p.row]
    status_counts = Counter(r.status for r in result.preview)
    return {
        "token": token,
        "file_name": meta["file_name"],
        "union": union,
        "scheme_year": scheme_year,
        "enrolled_on": enrolled_on,
        "result": result,
        "summary": result.summary,
        "file_problems": file_problems,
        "page": page,
        "only_errors": only_errors,
        "status_labels": STATUS_LABELS,
        "status_counts": status_counts,
        # What "只导入无误的行" would write: the valid rows not enrolled yet.
        "valid_to_write": status_counts["new"] + status_counts["renewal"],
        "valid_rows": len(result.preview) - status_counts["error"],
    }


@staff_required("enrollment_import")
def import_preview(request, token: str):
    """Every row with its status and problems (row, column, reason); nothing is written.

    The file is read and checked once, on the first view; paging and filtering show that
    result again (the confirmation checks everything anew)."""
    try:
        result = uploads.upload_preview_read(token)
        if result is None:
            meta, union, scheme_year, enrolled_on, result = _run(request, token, dry_run=True)
            uploads.upload_preview_store(token, result)
        else:
            meta, _data, union, scheme_year, enrolled_on = _load_upload(request, token, read=False)
    except UploadGone:
        return _upload_gone(request)
    except TabularError as exc:
        return _unreadable(request, token, exc)
    context = _preview_context(request, token, meta, union, scheme_year, enrolled_on, result)
    return render(request, "web/enrollment_import_preview.html", context)


@require_POST
@staff_required("enrollment_import")
def import_confirm(request, token: str):
    """Write the import: all-or-nothing (policy=all) or the valid rows only (policy=valid_only)."""
    valid_only = request.POST.get("policy") == "valid_only"
    try:
        meta, union, scheme_year, enrolled_on, result = _run(
            request, token, dry_run=False, valid_only=valid_only
        )
    except UploadGone:
        return _upload_gone(request)
    except TabularError as exc:
        return _unreadable(request, token, exc)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect("web:enrollment_import_preview", token=token)

    refused = not result.written and result.summary.get("errors", 0) > 0 and not valid_only
    if refused:
        messages.error(
            request,
            f"文件中有 {result.summary['errors']} 行有问题，按“全部导入”规则未写入任何记录。"
            "请修改文件后重新上传，或选择“只导入无误的行”。",
        )
        context = _preview_context(request, token, meta, union, scheme_year, enrolled_on, result)
        return render(request, "web/enrollment_import_preview.html", context, status=400)

    uploads.upload_delete(token)
    uploads.session_forget(request.session, token)
    return render(
        request,
        "web/enrollment_import_done.html",
        {
            "file_name": meta["file_name"],
            "union": union,
            "scheme_year": scheme_year,
            "result": result,
            "summary": result.summary,
            "valid_only": valid_only,
            "error_rows": [r for r in result.preview if r.status == "error"],
        },
    )


@staff_required("enrollment_import")
def import_template(request):
    """The enrollment template (.xlsx) for workplaces to fill in."""
    return _xlsx_response(enrollment_template_xlsx(), "职工医疗互助参保名单模板.xlsx")


@staff_required("enrollment_import")
def import_problems(request, token: str):
    """The preview's problem rows as .xlsx, to send back to the workplace."""
    try:
        meta, union, scheme_year, _enrolled_on, result = _run(request, token, dry_run=True)
    except UploadGone:
        return _upload_gone(request)
    except TabularError as exc:
        return _unreadable(request, token, exc)
    data = enrollment_problems_xlsx(
        preview=[r for r in result.preview if r.problems],
        file_name=meta["file_name"],
        union_name=union.name,
        year=scheme_year.year,
    )
    stem = meta["file_name"].rsplit(".", 1)[0]
    return _xlsx_response(data, f"{stem}-需更正的行.xlsx")


def _xlsx_response(data: bytes, file_name: str) -> HttpResponse:
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = content_disposition_header(True, file_name)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@staff_required("enrollment_import")
def import_cancel(request, token: str):
    if uploads.session_lookup(request.session, token) is not None:
        uploads.upload_delete(token)
        uploads.session_forget(request.session, token)
    messages.info(request, "已取消本次导入，上传的文件已删除。")
    return redirect("web:enrollment_import")
