"""`huzhu wechat-import-bindings FILE`: carry the followers' openids over from a former
official-account platform (columns 身份证号 and openid, or id_number and openid).

Same rules as the other imports: the whole file is checked before anything is written;
all-or-nothing unless `valid_only`; a row already bound the same way is `unchanged`, so the
same file again changes nothing. Bad rows: unknown member, openid bound to someone else (in
the database or earlier in the file), a member given two openids in the file, bad ID number
or openid. A member already bound to another openid is re-bound (the former one is named in
the audit trail), as a member re-binding in WeChat would be.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from huzhu.audit.services import audit_record
from huzhu.core.tabular import RowProblem, cell_text, read_table
from huzhu.members.idnumbers import IdNumberError, normalize_id_number
from huzhu.members.models import Member
from huzhu.members.personal import members_by_id_number

from .models import BindingSource, WeChatBinding
from .services import OPENID_RE, wechat_bind

ALIASES = {"身份证号": "id_number", "身份证号码": "id_number", "id_number": "id_number"}
ALIASES |= {"openid": "openid", "微信openid": "openid", "open_id": "openid"}
LABELS = {"id_number": "身份证号", "openid": "openid"}


@dataclass(frozen=True)
class BindingImportResult:
    summary: dict  # {"rows", "bound", "rebound", "unchanged", "errors"}
    problems: list[RowProblem]
    written: bool


@dataclass
class _Row:
    row: int
    id_number: str = ""
    openid: str = ""
    member: Member | None = None
    status: str = "error"

    def __post_init__(self):
        self.problems: list[RowProblem] = []

    def add(self, column: str, code: str, message: str) -> None:
        self.problems.append(RowProblem(self.row, LABELS[column], code, message))


def _check(number: int, cells: dict) -> _Row:
    r = _Row(number)
    raw_id = cells.get("id_number")
    try:
        r.id_number = normalize_id_number(raw_id)
    except IdNumberError as exc:
        r.add("id_number", exc.code, exc.message)
    r.openid = cell_text(cells.get("openid"))
    if not r.openid:
        r.add("openid", "missing_openid", "openid为空")
    elif not OPENID_RE.match(r.openid):
        r.add("openid", "bad_openid", "openid格式不正确（应为6-64位字母、数字、-或_）")
    return r


def wechat_bindings_import(
    *,
    data: bytes,
    file_name: str,
    valid_only: bool = False,
    dry_run: bool = False,
    acting_user=None,
) -> BindingImportResult:
    """Check the file and bind its rows. Raises TabularError for an unreadable file."""
    sheet = read_table(data, file_name, aliases=ALIASES, required={"id_number", "openid"})
    rows = [_check(number, cells) for number, cells in sheet.rows]
    by_id: dict[str, _Row] = {}
    by_openid: dict[str, _Row] = {}
    for r in rows:
        if r.problems:
            continue
        first = by_openid.get(r.openid)
        if first is not None and first.id_number != r.id_number:
            r.add("openid", "duplicate_openid", f"该openid与第{first.row}行重复，却对应另一名职工")
        first_id = by_id.get(r.id_number)
        if first_id is not None and first_id.openid != r.openid:
            r.add("openid", "two_openids", f"该职工在第{first_id.row}行已有另一个openid")
        if first is not None and first.id_number == r.id_number and not r.problems:
            r.status = "repeated"  # the same pair again: nothing more to do
            continue
        by_openid.setdefault(r.openid, r)
        by_id.setdefault(r.id_number, r)
    with transaction.atomic():
        members = members_by_id_number(by_id)
        bindings = {
            b.openid: b
            for b in WeChatBinding.objects.select_for_update().filter(openid__in=list(by_openid))
        }
        current = {
            b.member_id: b for b in WeChatBinding.objects.filter(member__in=list(members.values()))
        }
        for r in rows:
            if r.problems or r.status == "repeated":
                continue
            r.member = members.get(r.id_number)
            if r.member is None:
                r.add("id_number", "unknown_member", "没有该身份证号的职工（请先由工会登记）")
                continue
            bound = bindings.get(r.openid)
            if bound is not None and bound.member_id != r.member.pk:
                r.add("openid", "openid_taken", "该openid已绑定另一名职工")
                continue
            if bound is not None:
                r.status = "unchanged"
            elif r.member.pk in current:
                r.status = "rebound"
            else:
                r.status = "bound"
        errors = sum(1 for r in rows if r.problems)
        accepted = not (errors and not valid_only)
        written = accepted and not dry_run
        counts = {s: sum(1 for r in rows if r.status == s) for s in ("bound", "rebound")}
        summary = {
            "rows": len(rows),
            "bound": counts["bound"] if accepted else 0,
            "rebound": counts["rebound"] if accepted else 0,
            "unchanged": sum(1 for r in rows if r.status in ("unchanged", "repeated")),
            "errors": errors,
        }
        if written:
            for r in rows:
                if r.status in ("bound", "rebound") and not r.problems:
                    wechat_bind(
                        member=r.member,
                        openid=r.openid,
                        source=BindingSource.IMPORT,
                        acting_user=acting_user,
                    )
            audit_record(
                actor=acting_user,
                action="wechat.import_bindings",
                object_type="wechat.wechatbinding",
                object_id="*",
                after={**summary, "file_name": file_name},
            )
    return BindingImportResult(
        summary=summary, problems=[p for r in rows for p in r.problems], written=written
    )
