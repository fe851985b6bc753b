"""Reading the audit trail: filters for the audit viewer and its .xlsx export."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from huzhu.core.sealed import sealed_q

from .models import AuditEvent

_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")

# People read actions by these names; an action not listed shows its code.
ACTION_LABELS = {
    "login": "登录",
    "logout": "退出",
    "login.failed": "登录失败",
    "login.lockout": "登录锁定",
    "login.unlock": "解除登录锁定",
    "login.second_factor": "两步验证通过",
    "login.second_factor_failed": "两步验证失败",
    "second_factor.enroll": "启用两步验证",
    "second_factor.reset": "重置两步验证",
    "password.change": "修改密码",
    "staff.create": "新建账号",
    "staff.update": "修改账号",
    "staff.role_change": "角色/工会变更",
    "staff.disable": "停用账号",
    "staff.password_reset": "重置密码",
    "reveal": "查看完整身份证号/银行账号",
    "member.update": "更正职工信息",
    "member.bind": "职工绑定手机",
    "member.bank_card_change": "职工修改银行卡",
    "fee_statement.download": "导出会费清单",
    "payment_batch.export": "导出代发文件",
    "audit.export": "导出审计日志",
    "enrollment.import": "参保导入",
    "enrollment.withdraw": "退保",
    "settlement.upload": "结算数据导入",
    "portal.groups_sync": "网站编辑权限变更",
}

# Groups of actions the viewer offers as one choice.
ACTION_GROUPS = {
    "reveal": ("查看完整信息", ["reveal"]),
    "export": ("导出", ["fee_statement.download", "payment_batch.export", "audit.export"]),
    "login": (
        "登录与锁定",
        [
            "login",
            "logout",
            "login.failed",
            "login.lockout",
            "login.unlock",
            "login.second_factor",
            "login.second_factor_failed",
        ],
    ),
    "accounts": (
        "账号与角色变更",
        [
            "staff.create",
            "staff.update",
            "staff.role_change",
            "staff.disable",
            "staff.password_reset",
            "second_factor.enroll",
            "second_factor.reset",
            "password.change",
            "portal.groups_sync",
        ],
    ),
}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


@dataclass(frozen=True)
class AuditFilter:
    who: str = ""  # actor's user name (exact) or part of it
    action: str = ""  # a group key of ACTION_GROUPS, or an action code (prefix)
    object: str = ""  # "type", "type:id" or an object id / user name
    since: dt.date | None = None
    until: dt.date | None = None  # inclusive


def audit_events_filter(f: AuditFilter) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.select_related("actor")
    if f.who:
        who = f.who.strip()
        condition = Q(actor__username__icontains=who)
        if _MOBILE.match(who):  # a member login, by its phone's blind index
            condition |= sealed_q("phone", who, prefix="actor__")
        events = events.filter(condition)
    if f.action:
        if f.action in ACTION_GROUPS:
            events = events.filter(action__in=ACTION_GROUPS[f.action][1])
        else:
            events = events.filter(action__startswith=f.action.strip())
    if f.object:
        text = f.object.strip()
        if ":" in text:
            object_type, object_id = text.split(":", 1)
            events = events.filter(object_type=object_type.strip())
            if object_id.strip():
                events = events.filter(object_id=object_id.strip())
        else:
            events = events.filter(Q(object_id=text) | Q(object_type=text))
    tz = timezone.get_current_timezone()
    if f.since:
        events = events.filter(at__gte=dt.datetime.combine(f.since, dt.time.min, tzinfo=tz))
    if f.until:
        end = dt.datetime.combine(f.until + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        events = events.filter(at__lt=end)
    return events.order_by("-at", "-id")


def _details(value) -> str:
    if value in (None, "", {}):
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


EXPORT_HEADERS = [
    "时间",
    "操作人",
    "操作",
    "操作代码",
    "对象类型",
    "对象",
    "变更前",
    "变更后",
    "原因",
]
EXPORT_MAX_ROWS = 200_000


def audit_events_xlsx(events: QuerySet[AuditEvent]) -> tuple[bytes, int]:
    """The events as an .xlsx workbook (at most EXPORT_MAX_ROWS rows); returns (bytes, rows)."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "constant_memory": True})
    sheet = book.add_worksheet("审计日志")
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    sheet.write_row(0, 0, EXPORT_HEADERS, head)
    tz = timezone.get_current_timezone()
    rows = 0
    for rows, event in enumerate(events[:EXPORT_MAX_ROWS].iterator(chunk_size=2000), start=1):
        sheet.write_row(
            rows,
            0,
            [
                event.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
                event.actor.username if event.actor_id else "",
                action_label(event.action),
                event.action,
                event.object_type,
                event.object_id,
                _details(event.before),
                _details(event.after),
                event.reason,
            ],
        )
    sheet.set_column(0, 0, 20)
    sheet.set_column(1, 5, 16)
    sheet.set_column(6, 7, 40)
    book.close()
    return out.getvalue(), rows
