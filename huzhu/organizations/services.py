"""Writes of the union tree: loading it from a sheet (`huzhu import-unions`).

Same rules as the enrollment import: the whole file is checked before anything is written,
all-or-nothing by default or `valid_only`; rows are keyed by union code, so the same file
again changes nothing (its rows come back `unchanged`). A parent must exist in the file or
the database, the tree must stay a tree (no cycles) with one federation at the root.
Blank 联系人/电话 cells keep the stored values; name, kind and parent always follow the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import transaction

from huzhu.audit.services import audit_record
from huzhu.core.tabular import RowProblem, cell_text, read_table

from .models import Union, UnionKind

__all__ = ["UNION_ALIASES", "UnionImportResult", "union_import"]

UNION_ALIASES: dict[str, str] = {
    "代码": "code",
    "工会代码": "code",
    "编码": "code",
    "code": "code",
    "名称": "name",
    "工会名称": "name",
    "name": "name",
    "类型": "kind",
    "工会类型": "kind",
    "kind": "kind",
    "type": "kind",
    "上级代码": "parent_code",
    "上级工会代码": "parent_code",
    "上级编码": "parent_code",
    "parent_code": "parent_code",
    "parent": "parent_code",
    "联系人": "contact",
    "contact": "contact",
    "电话": "phone",
    "联系电话": "phone",
    "phone": "phone",
}
LABELS = {
    "code": "代码",
    "name": "名称",
    "kind": "类型",
    "parent_code": "上级代码",
    "contact": "联系人",
    "phone": "电话",
}
REQUIRED = {"code", "name", "kind", "parent_code"}

_KINDS = {
    "federation": UnionKind.FEDERATION,
    "总工会": UnionKind.FEDERATION,
    "市总工会": UnionKind.FEDERATION,
    "industry": UnionKind.INDUSTRY,
    "产业工会": UnionKind.INDUSTRY,
    "township": UnionKind.TOWNSHIP,
    "乡镇(街道)工会": UnionKind.TOWNSHIP,
    "乡镇工会": UnionKind.TOWNSHIP,
    "街道工会": UnionKind.TOWNSHIP,
    "乡镇街道工会": UnionKind.TOWNSHIP,
    "workplace": UnionKind.WORKPLACE,
    "基层工会": UnionKind.WORKPLACE,
}
_CODE_RE = re.compile(r"^[0-9A-Za-z_.\-]{1,32}$")
_PHONE_RE = re.compile(r"^\+?[0-9][0-9\-() ]{5,30}$")


@dataclass(frozen=True)
class UnionImportResult:
    summary: dict  # {"rows", "created", "updated", "unchanged", "errors"}
    problems: list[RowProblem]
    written: bool  # False for dry runs and refused all-or-nothing runs
    encoding: str | None
    header_row: int = 1


class _Row:
    __slots__ = ("row", "code", "name", "kind", "parent", "contact", "phone", "problems", "status")

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
        r.add("code", "missing_code", "代码为空")
    elif not _CODE_RE.match(r.code):
        r.add("code", "bad_code", "代码只能由字母、数字和 - _ . 组成，最长32位")
    r.name = cell_text(cells.get("name"))
    if not r.name:
        r.add("name", "missing_name", "名称为空")
    elif len(r.name) > 128:
        r.add("name", "bad_name", "名称超过128个字")
    kind_text = cell_text(cells.get("kind"))
    r.kind = _KINDS.get(kind_text.casefold().replace(" ", ""))
    if r.kind is None:
        r.add(
            "kind",
            "bad_kind" if kind_text else "missing_kind",
            f"类型“{kind_text}”无法识别，应为 总工会、产业工会、乡镇(街道)工会 或 基层工会"
            if kind_text
            else "类型为空",
        )
    r.parent = cell_text(cells.get("parent_code"))
    if r.kind == UnionKind.FEDERATION and r.parent:
        r.add("parent_code", "federation_with_parent", "总工会是最上级，不应填写上级代码")
    elif r.kind is not None and r.kind != UnionKind.FEDERATION and not r.parent:
        r.add("parent_code", "missing_parent", "上级代码为空（只有总工会没有上级）")
    elif r.parent and r.parent == r.code:
        r.add("parent_code", "cycle", "上级代码不能是自己")
    r.contact = cell_text(cells.get("contact"))
    if len(r.contact) > 64:
        r.add("contact", "bad_contact", "联系人超过64个字")
    r.phone = cell_text(cells.get("phone"))
    if r.phone and not _PHONE_RE.match(r.phone):
        r.add("phone", "bad_phone", "电话应为数字（可含区号和“-”），如 0575-83112057")
    return r


def union_import(
    *,
    data: bytes,
    file_name: str,
    valid_only: bool = False,
    acting_user=None,
    dry_run: bool = False,
) -> UnionImportResult:
    """Check a sheet of unions and create/update them. Raises TabularError when unreadable."""
    sheet = read_table(data, file_name, aliases=UNION_ALIASES, required=REQUIRED)
    rows = [_check_row(number, cells) for number, cells in sheet.rows]
    with transaction.atomic():
        existing = {u.code: u for u in Union.objects.select_for_update()}
        _check_tree(rows, existing)
        for r in rows:
            if r.problems:
                r.status = "error"
            elif r.code not in existing:
                r.status = "created"
            else:
                r.status = "updated" if _changes(existing[r.code], r, existing) else "unchanged"
        errors = sum(1 for r in rows if r.problems)
        written = not dry_run and not (errors and not valid_only)
        summary = {
            "rows": len(rows),
            "created": 0,
            "updated": 0,
            "unchanged": sum(1 for r in rows if r.status == "unchanged"),
            "errors": errors,
        }
        if not (errors and not valid_only):  # what a real run writes (a dry run reports it)
            summary["created"] = sum(1 for r in rows if r.status == "created")
            summary["updated"] = sum(1 for r in rows if r.status == "updated")
        if written:
            _write(rows, existing, acting_user=acting_user, file_name=file_name, summary=summary)
    return UnionImportResult(
        summary=summary,
        problems=[p for r in rows for p in r.problems],
        written=written,
        encoding=sheet.encoding,
        header_row=sheet.header_row,
    )


def _check_tree(rows: list[_Row], existing: dict[str, Union]) -> None:
    """Duplicates, parents that exist, one federation, no cycles; errors flow to children."""
    first: dict[str, int] = {}
    for r in rows:
        if r.code:
            seen = first.setdefault(r.code, r.row)
            if seen != r.row:
                r.add("code", "duplicate_in_file", f"代码与第{seen}行重复")
    in_file = {r.code: r for r in rows if r.code and first.get(r.code) == r.row}
    by_id = {u.id: u for u in existing.values()}

    federations = {c for c, u in existing.items() if u.kind == UnionKind.FEDERATION}
    for r in rows:
        if r.kind == UnionKind.FEDERATION and not r.problems:
            if federations - {r.code}:
                other = sorted(federations - {r.code})[0]
                r.add("kind", "second_federation", f"已有总工会（代码{other}），只能有一个总工会")
            else:
                federations.add(r.code)
    for r in rows:
        if r.parent and r.parent != r.code and r.parent not in in_file and r.parent not in existing:
            r.add("parent_code", "unknown_parent", f"上级代码 {r.parent} 在文件和系统中都不存在")

    # The tree as it would be: stored parents, replaced by the file's rows.
    parent_of = {
        code: (by_id[u.parent_id].code if u.parent_id in by_id else None)
        for code, u in existing.items()
    }
    for code, r in in_file.items():
        if r.kind is not None:
            parent_of[code] = r.parent or None
    for code, r in in_file.items():
        seen = {code}
        step = parent_of.get(code)
        while step is not None:
            if step in seen:
                if step == code and not any(p.code == "cycle" for p in r.problems):
                    r.add("parent_code", "cycle", "上级关系形成了循环（工会不能是自己的下级）")
                break
            seen.add(step)
            step = parent_of.get(step)

    # A row whose parent is only in the file, on a row with problems, cannot be written.
    changed = True
    while changed:
        changed = False
        for r in rows:
            parent = in_file.get(r.parent) if r.parent else None
            if r.problems or parent is None or parent is r or not parent.problems:
                continue
            if r.parent in existing:
                continue  # the stored parent stays; only its row's changes are not written
            r.add(
                "parent_code",
                "parent_invalid",
                f"上级工会（代码{r.parent}）所在的第{parent.row}行有错误",
            )
            changed = True


def _changes(union: Union, r: _Row, existing: dict[str, Union]) -> dict[str, tuple]:
    """field -> (before, after) for the values the file would change."""
    current_parent = next((u.code for u in existing.values() if u.id == union.parent_id), None)
    out: dict[str, tuple] = {}
    if union.name != r.name:
        out["name"] = (union.name, r.name)
    if union.kind != r.kind:
        out["kind"] = (union.kind, str(r.kind))
    if current_parent != (r.parent or None):
        out["parent"] = (current_parent, r.parent or None)
    if r.contact and union.contact != r.contact:
        out["contact"] = (union.contact, r.contact)
    if r.phone and union.phone != r.phone:
        out["phone"] = (union.phone, r.phone)
    return out


def _write(rows, existing, *, acting_user, file_name, summary) -> None:
    todo = [r for r in rows if r.status in ("created", "updated")]
    changes = {r.code: _changes(existing[r.code], r, existing) for r in todo if r.code in existing}
    # Create the new unions first (parents are set in the second pass, so order is free).
    for r in todo:
        if r.status == "created":
            existing[r.code] = Union.objects.create(
                code=r.code, name=r.name, kind=r.kind, contact=r.contact, phone=r.phone
            )
    for r in todo:
        union = existing[r.code]
        union.name, union.kind = r.name, r.kind
        union.parent = existing[r.parent] if r.parent else None
        if r.contact:
            union.contact = r.contact
        if r.phone:
            union.phone = r.phone
        union.save()
        if r.status == "created":
            after = {
                "code": r.code,
                "name": r.name,
                "kind": str(r.kind),
                "parent": r.parent or None,
                "contact": r.contact,
                "phone": r.phone,
            }
            audit_record(actor=acting_user, action="union.create", obj=union, after=after)
        else:
            change = changes[r.code]
            audit_record(
                actor=acting_user,
                action="union.update",
                obj=union,
                before={k: v[0] for k, v in change.items()},
                after={k: v[1] for k, v in change.items()},
            )
    audit_record(
        actor=acting_user,
        action="union.import",
        object_type="organizations.union",
        object_id="*",
        after={**summary, "file_name": file_name},
    )
