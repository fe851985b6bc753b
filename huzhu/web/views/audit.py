"""Audit viewer (/staff/audit/): administrators and auditors read the audit trail, filter it
and export it to .xlsx (the export is itself audited). Read-only: nothing here changes or
removes an audit row."""

from __future__ import annotations

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.encoding import escape_uri_path

from huzhu.audit.selectors import (
    ACTION_GROUPS,
    AuditFilter,
    action_label,
    audit_events_filter,
    audit_events_xlsx,
)
from huzhu.audit.services import audit_record
from huzhu.web.permissions import staff_required

from ._common import paginate

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class AuditFilterForm(forms.Form):
    who = forms.CharField(label="操作人", required=False, max_length=150)
    action = forms.CharField(label="操作", required=False, max_length=64)
    object = forms.CharField(label="对象", required=False, max_length=200)
    since = forms.DateField(
        label="从", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="到", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def to_filter(self) -> AuditFilter:
        data = self.cleaned_data if self.is_valid() else {}
        return AuditFilter(
            who=data.get("who") or "",
            action=data.get("action") or "",
            object=data.get("object") or "",
            since=data.get("since"),
            until=data.get("until"),
        )


@staff_required("audit")
def audit_list(request):
    form = AuditFilterForm(request.GET or None)
    events = audit_events_filter(form.to_filter())
    page = paginate(request, events)
    rows = [{"event": e, "label": action_label(e.action)} for e in page]
    return render(
        request,
        "web/audit_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "groups": [(key, label) for key, (label, _) in ACTION_GROUPS.items()],
        },
    )


@staff_required("audit")
def audit_export(request):
    form = AuditFilterForm(request.GET or None)
    audit_filter = form.to_filter()
    data, count = audit_events_xlsx(audit_events_filter(audit_filter))
    audit_record(
        actor=request.user,
        action="audit.export",
        object_type="audit.auditevent",
        object_id="",
        after={
            "rows": count,
            "filter": {k: str(v) for k, v in vars(audit_filter).items() if v},
        },
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(data, content_type=XLSX_TYPE)
    response["Content-Disposition"] = (
        f"attachment; filename*=UTF-8''{escape_uri_path(f'审计日志_{stamp}.xlsx')}"
    )
    response["Cache-Control"] = "no-store"
    return response
