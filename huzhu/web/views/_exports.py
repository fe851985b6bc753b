"""Export of a staff list (claims, members) as .xlsx with the page's filters; audited."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.http import content_disposition_header

from huzhu.audit.services import audit_record
from huzhu.reports.exports import ExportTooLarge, claims_xlsx, members_xlsx
from huzhu.web.permissions import REVEAL_ROLES, has_role

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TITLES = {"claims": "互助申请", "members": "职工名单"}


def export_xlsx(request, kind: str, qs, filters: dict):
    """The list `qs` as .xlsx. ID numbers (and accounts) are in clear only when the user asked
    (`reveal=1`) and the role may reveal them; every export is an audit event with the
    filters, the row count and what was revealed."""
    asked = request.GET.get("reveal") == "1"
    reveal_id = asked and has_role(request.user, REVEAL_ROLES["id_number"])
    reveal_account = asked and has_role(request.user, REVEAL_ROLES["bank_account"])
    shown = {k: v for k, v in filters.items() if v not in (None, "")}
    text = "筛选：" + ("；".join(f"{k}={v}" for k, v in shown.items()) or "无")
    text += f"    导出人：{request.user.username}    {timezone.localtime():%Y-%m-%d %H:%M}"
    try:
        if kind == "claims":
            data, rows = claims_xlsx(qs, reveal_id=reveal_id, filters_text=text)
        else:
            data, rows = members_xlsx(
                qs, reveal_id=reveal_id, reveal_account=reveal_account, filters_text=text
            )
    except ExportTooLarge as exc:
        messages.error(request, str(exc))
        params = request.GET.copy()
        params.pop("export", None)
        params.pop("reveal", None)
        return redirect(f"{request.path}?{params.urlencode()}")
    audit_record(
        actor=request.user,
        action=f"{kind}.export",
        object_type=kind,
        object_id="list",
        after={
            "filters": {k: str(v) for k, v in shown.items()},
            "rows": rows,
            "id_numbers_revealed": reveal_id,
            "accounts_revealed": kind == "members" and reveal_account,
        },
    )
    response = HttpResponse(data, content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        True, f"{TITLES[kind]}_{timezone.localdate():%Y%m%d}.xlsx"
    )
    response["Cache-Control"] = "no-store"
    return response
