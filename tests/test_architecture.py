"""Architecture, tested rather than hoped for (shared/docs/architecture.md, issue 15).

- The import contracts of `.importlinter`: the rules engine imports no Django and no other
  app; domain apps never import the faces (web, api); no cycles between apps. Known breaches
  are listed in that file as ignored imports, so no new one can join them unnoticed.
- Only `huzhu/claims` writes the claim tables (claims, transitions, ledgers, adjustment
  items, notifications, the number counter): ORM writes on their managers, bulk writers
  (`bulk_insert`, `frame_insert`, `bulk_update_rows`) given one of their models, and raw SQL
  that inserts into, updates or deletes from one of their tables are refused anywhere else.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "huzhu"
CLAIM_MODELS = {
    "Claim",
    "ClaimTransition",
    "ClaimNumberCounter",
    "MemberYearLedger",
    "AdjustmentItem",
    "Notification",
}
CLAIM_TABLES = (
    "claims_claim",
    "claims_claimtransition",
    "claims_claimnumbercounter",
    "claims_memberyearledger",
    "claims_adjustmentitem",
    "claims_notification",
)
ORM_WRITES = {
    "create",
    "bulk_create",
    "update",
    "delete",
    "get_or_create",
    "update_or_create",
    "bulk_update",
}
BULK_WRITERS = {"bulk_insert", "frame_insert", "bulk_update_rows"}
RAW_WRITE = re.compile(
    r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(" + "|".join(CLAIM_TABLES) + r")\b",
    re.IGNORECASE,
)


def test_import_contracts_hold():
    from importlinter.cli import lint_imports

    assert lint_imports(config_filename=str(ROOT / ".importlinter")) == 0


def _manager_model(node: ast.AST) -> str | None:
    """`Claim` for `Claim.objects…` (any chain of calls and attributes after `objects`)."""
    while isinstance(node, ast.Call | ast.Attribute):
        if isinstance(node, ast.Call):
            node = node.func
            continue
        if node.attr == "objects" and isinstance(node.value, ast.Name):
            return node.value.id
        node = node.value
    return None


def claim_table_writes(source: str) -> list[tuple[int, str]]:
    """(line, what) for each write to a claim table that `source` makes."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ORM_WRITES and _manager_model(node.func.value) in CLAIM_MODELS:
                found.append((node.lineno, f"{_manager_model(node.func.value)}.{node.func.attr}"))
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in BULK_WRITERS and node.args and isinstance(node.args[0], ast.Name):
                if node.args[0].id in CLAIM_MODELS:
                    found.append((node.lineno, f"{name}({node.args[0].id})"))
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = RAW_WRITE.search(node.value)
            if match:
                found.append((node.lineno, match.group(0)))
    return found


def test_only_the_claims_core_writes_claim_tables():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[:2] == ("huzhu", "claims"):
            continue
        for line, what in claim_table_writes(path.read_text(encoding="utf-8")):
            offenders.append(f"{relative}:{line}: {what}")
    assert offenders == []


@pytest.mark.parametrize(
    "source",
    [
        "Claim.objects.filter(pk=1).update(status='paid')",
        "Notification.objects.create(member=m, text='x')",
        "MemberYearLedger.objects.select_for_update().get_or_create(member=m)",
        "bulk_insert(ClaimTransition, fields, rows)",
        "frame_insert(Claim, frame)",
        "cursor.execute('UPDATE claims_claim SET status = %s')",
        'sql = f"INSERT INTO claims_notification (member_id) VALUES (%s)"',
    ],
)
def test_the_write_detector_sees_each_kind_of_write(source):
    assert claim_table_writes(source)


def test_the_write_detector_leaves_reads_and_other_tables_alone():
    source = (
        "Claim.objects.filter(pk=1).values_list('id')\n"
        "PaymentRowClaim.objects.filter(batch=b).update(released=True)\n"
        "bulk_insert(PaymentRow, fields, rows)\n"
        "cursor.execute('SELECT * FROM claims_claim')\n"
    )
    assert claim_table_writes(source) == []
