"""Settlement import pages (结算数据导入) under /staff/settlements/: upload a bureau file (the
import runs as a background task), watch a batch's progress and outcome counts."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render

from huzhu.organizations.models import Role
from huzhu.plans.rules.explain import BASE_LABELS
from huzhu.settlements.models import BatchState
from huzhu.settlements.selectors import (
    batch_get,
    batch_list,
    batch_problems,
    batch_review_records,
)
from huzhu.settlements.services import TableReadError, settlement_batch_upload
from huzhu.web.permissions import staff_required

from ._common import paginate

IMPORT_ROLES = (Role.FEDERATION_REVIEWER, Role.FEDERATION_FINANCE, Role.ADMIN)
MAX_UPLOAD_BYTES = 300 * 1024 * 1024
DEFAULT_SOURCE = "医保局"  # shown on the batch pages: a word people read, not a code
COUNT_LABELS = [
    ("rows", "总行数"),
    ("created", "新建申请"),
    ("approved", "自动核准"),
    ("for_review", "转人工审核"),
    ("covered", "可补助"),
    ("duplicates", "重复"),
    ("not_enrolled", "未参保"),
    ("waiting_period", "观察期内"),
    ("out_of_period", "不在方案年度内"),
    ("reversals", "冲正记录"),
    ("reversed", "已被冲正"),
    ("invalid", "数据有误"),
]


# Canonical field names of a settlement record as people call them (problem rows name one).
FIELD_LABELS = {
    "settlement_id": "结算编号",
    "id_number": "身份证号",
    "name": "姓名",
    "admit_date": "入院日期",
    "discharge_date": "出院日期",
    **BASE_LABELS,
    "hospital": "医院",
    "diagnosis_code": "诊断编码",
}


@staff_required(*IMPORT_ROLES)
def settlement_upload(request):
    """GET: the upload form and recent batches. POST: keep the file, queue its import."""
    if request.method == "POST":
        upload = request.FILES.get("file")
        source = (request.POST.get("source") or "").strip()[:64] or DEFAULT_SOURCE
        if upload is None:
            messages.error(request, "请选择要导入的结算文件。")
        elif upload.size > MAX_UPLOAD_BYTES:
            messages.error(
                request, "文件超过300MB，请分批导入或使用命令行 huzhu import-settlements。"
            )
        else:
            try:
                batch = settlement_batch_upload(
                    data=upload.read(),
                    file_name=upload.name,
                    source=source,
                    acting_user=request.user,
                )
            except TableReadError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"已上传 {batch.file_name}，正在后台导入。")
                return redirect("web:settlement_batch", pk=batch.pk)
    page = paginate(request, batch_list(), per_page=20)
    return render(request, "web/settlements/upload.html", {"page": page})


@staff_required(*IMPORT_ROLES)
def settlement_batch(request, pk: int):
    """A batch: progress while it runs, then its outcome counts, problem rows and the records
    waiting for a reviewer."""
    batch = batch_get(pk)
    running = batch.state in (BatchState.PENDING, BatchState.RUNNING)
    counts = [(label, batch.counts.get(key)) for key, label in COUNT_LABELS if batch.counts]
    return render(
        request,
        "web/settlements/batch.html",
        {
            "batch": batch,
            "running": running,
            "counts": counts,
            "approved_amount": (batch.counts or {}).get("approved_amount"),
            "problems": paginate(request, batch_problems(batch), per_page=100),
            "review": batch_review_records(batch)[:200],
            "field_labels": FIELD_LABELS,
        },
    )
