"""`huzhu import-hospitals FILE`: the hospital registry from a sheet.

Same rules as the other imports: the whole file is checked before anything is written,
all-or-nothing by default or `valid_only`; rows are keyed by hospital code, so the same file
again changes nothing (its rows come back `unchanged`). Blank bank cells keep the stored
values; name and level always follow the file. Bank accounts are stored encrypted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import transaction

from huzhu.audit.services import audit_record
from huzhu.core.tabular import RowProblem, cell_text, read_table
from huzhu.members.fields import FieldError, normalize_bank_account, normalize_bank_name

from .models import Hospital

__all__ = ["HOSPITAL_ALIASES", "HospitalImportResult", "hospital_import"]

HOSPITAL_ALIASES: dict[str, str] = {
    "医院代码": "code",
    "机构代码": "code",
    "定点医药机构编号": "code",
    "fixmedins_code": "code",
    "hospital_code": "code",
    "code": "code",
    "医院名称": "name",
    "医院": "name",
    "机构名称": "name",
    "fixmedins_name": "name",
    "name": "name",
    "医院等级": "level",
    "等级": "level",
    "hosp_lv": "level",
    "level": "level",
    "开户银行": "bank_name",
    "开户行": "bank_name",
    "bank_name": "bank_name",
    "银行账号": "bank_account",
    "收款账号": "bank_account",
    "账号": "bank_account",
    "bank_account": "bank_account",
}
LABELS = {
    "code": "医院代码",
    "name": "医院名称",
    "level": "医院等级",
    "bank_name": "开户银行",
    "bank_account": "银行账号",
}
REQUIRED = {"code", "name"}
_CODE_RE = re.compile(r"^[0-9A-Za-z_.\-]{1,32}$")


@dataclass(frozen=True)
class HospitalImportResult:
    summary: dict  # {"rows", "created", "updated", "unchanged", "errors"}
    problems: list[RowProblem]
    written: bool  # False for dry runs and refused all-or-nothing runs
    encoding: str | None
    header_row: int = 1


class _Row:
    __slots__ = ("row", "code", "name", "level", "bank_name", "account", "problems", "status")

    def __init__(self, row: int) -> None:
        self.row = row
        self.problems: list[RowProblem] = []
        self.status = "error"

    def add(self, column: str, code: str, message: str) -> None:
        self.problems.append(RowProblem(self.row, LABELS[column], code, message))


def _check_row(number: int, cells: dict) -> _Row:
    r = _Row(number)
    r.code = cell_text(cells.get("code"))
    if not r.code:
        r.add("code", "missing_code", "医院代码为空")
    elif not _CODE_RE.match(r.code):
        r.add("code", "bad_code", "医院代码只能由字母、数字和 - _ . 组成，最长32位")
    r.name = cell_text(cells.get("name"))
    if not r.name:
        r.add("name", "missing_name", "医院名称为空")
    elif len(r.name) > 128:
        r.add("name", "bad_name", "医院名称超过128个字")
    r.level = cell_text(cells.get("level"))
    if len(r.level) > 32:
        r.add("level", "bad_level", "医院等级超过32个字")
    try:
        r.bank_name = normalize_bank_name(cells.get("bank_name"))
    except FieldError as exc:
        r.bank_name = ""
        r.add("bank_name", exc.code, exc.message)
    try:
        r.account = normalize_bank_account(cells.get("bank_account"))
    except FieldError as exc:
        r.account = ""
        r.add("bank_account", exc.code, exc.message)
    if r.account and not r.bank_name:
        r.add("bank_name", "missing_bank_name", "填写了银行账号，但开户银行为空")
    return r


def _changes(hospital: Hospital, r: _Row) -> dict[str, tuple]:
    """field -> (before, after) of what the row would change (accounts masked)."""
    out: dict[str, tuple] = {}
    if hospital.name != r.name:
        out["name"] = (hospital.name, r.name)
    if hospital.level != r.level:
        out["level"] = (hospital.level, r.level)
    if r.bank_name and hospital.bank_name != r.bank_name:
        out["bank_name"] = (hospital.bank_name, r.bank_name)
    if r.account and hospital.bank_account != r.account:
        out["bank_account"] = (hospital.bank_account_masked, f"****{r.account[-4:]}")
    return out


def hospital_import(
    *,
    data: bytes,
    file_name: str,
    valid_only: bool = False,
    acting_user=None,
    dry_run: bool = False,
) -> HospitalImportResult:
    """Check a sheet of hospitals and create/update them. Raises TabularError when the file
    cannot be read or lacks the code/name columns."""
    sheet = read_table(data, file_name, aliases=HOSPITAL_ALIASES, required=REQUIRED)
    rows = [_check_row(number, cells) for number, cells in sheet.rows]
    seen: dict[str, int] = {}
    for r in rows:
        if not r.code:
            continue
        if r.code in seen:
            r.add("code", "duplicate_code", f"医院代码{r.code}与第{seen[r.code]}行重复")
        else:
            seen[r.code] = r.row
    with transaction.atomic():
        existing = {
            h.code: h for h in Hospital.objects.select_for_update().filter(code__in=list(seen))
        }
        for r in rows:
            if r.problems:
                r.status = "error"
            elif r.code not in existing:
                r.status = "created"
            else:
                r.status = "updated" if _changes(existing[r.code], r) else "unchanged"
        errors = sum(1 for r in rows if r.problems)
        accepted = not (errors and not valid_only)
        written = accepted and not dry_run
        summary = {
            "rows": len(rows),
            "created": sum(1 for r in rows if r.status == "created") if accepted else 0,
            "updated": sum(1 for r in rows if r.status == "updated") if accepted else 0,
            "unchanged": sum(1 for r in rows if r.status == "unchanged"),
            "errors": errors,
        }
        if written:
            _write(rows, existing, acting_user=acting_user, file_name=file_name, summary=summary)
    return HospitalImportResult(
        summary=summary,
        problems=[p for r in rows for p in r.problems],
        written=written,
        encoding=sheet.encoding,
        header_row=sheet.header_row,
    )


def _write(rows, existing, *, acting_user, file_name, summary) -> None:
    for r in rows:
        if r.status == "created":
            hospital = Hospital(code=r.code, name=r.name, level=r.level, bank_name=r.bank_name)
            hospital.bank_account = r.account
            hospital.save()
            after = {"code": r.code, "name": r.name, "level": r.level, "bank_name": r.bank_name}
            if r.account:
                after["bank_account"] = f"****{r.account[-4:]}"
            audit_record(actor=acting_user, action="hospital.create", obj=hospital, after=after)
        elif r.status == "updated":
            hospital = existing[r.code]
            change = _changes(hospital, r)
            hospital.name, hospital.level = r.name, r.level
            if r.bank_name:
                hospital.bank_name = r.bank_name
            if r.account:
                hospital.bank_account = r.account
            hospital.save()
            audit_record(
                actor=acting_user,
                action="hospital.update",
                obj=hospital,
                before={k: v[0] for k, v in change.items()},
                after={k: v[1] for k, v in change.items()},
            )
    audit_record(
        actor=acting_user,
        action="hospital.import",
        object_type="hospitals.hospital",
        object_id="*",
        after={**summary, "file_name": file_name},
    )
