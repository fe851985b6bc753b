"""The row engine: every settlement record of a file -> its outcome (plus lump sums).

Status precedence is domain.md's: duplicate -> reversal -> reversed -> invalid ->
out_of_period -> not_enrolled -> waiting_period -> covered.

The file is taken as columns (`records.RecordColumns`) and the outcomes come back as
columns (`adjudicate_columns`), one row at a time in plain Python: each distinct ID
number, date and member is checked once, covered stays are grouped by member and each
member-year goes through the ledger (`ledger.walk_member_year`, the same arithmetic the
claims, one-stop and recompute code use through `adjudicate_member_year`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import NamedTuple

from huzhu.members.idnumbers import IdNumberError, normalize_id_number

from ..schema import Plan
from .amounts import parse_iso_date
from .ledger import (
    Coverage,
    LedgerState,
    inpatient_rules,
    lump_sums_matching,
    walk_member_year,
)
from .outcomes import REASON_MESSAGES, OutcomeStatus, reason_message
from .records import RecordColumns, cell_text

__all__ = [
    "STAY_FIELDS",
    "FileOutcomes",
    "adjudicate_columns",
    "head_outcomes",
]

S = OutcomeStatus
_COVERED, _INVALID = S.COVERED.value, S.INVALID.value
_NO_STATE = LedgerState()
_HEAD_STATUS = {
    "duplicate": S.DUPLICATE.value,
    "reversal": S.REVERSAL.value,
    "reversal_unmatched": S.REVERSAL.value,
    "reversed": S.REVERSED.value,
}


class FileOutcomes(NamedTuple):
    """The row engine's outcomes of a file, as plain lists.

    `rows`: per input row, in input order — row, settlement_id, status, reason_code,
    reason, member, coverage_start, reverses (the benefit is the inpatient one).
    `stays`: the covered stays in ledger order, flattened: per stay its row position,
    `STAY_FIELDS`, then the band values (base, amount per band); the money of every
    other inpatient row is 0 (base: none).
    `lump_sums`: (row position, benefit code, fen) of each lump sum paid, in output order.
    """

    rows: dict[str, Sequence]
    stays: list[int]
    lump_sums: list[tuple[int, str, int]]


# Per covered stay in FileOutcomes.stays: the row position, then these, then the bands.
STAY_FIELDS = (
    "base_fen",
    "cap_cut_fen",
    "deductible_fen",
    "excess_fen",
    "before_cap_fen",
    "amount_fen",
)


def _sex(member: str) -> str:
    return "male" if int(member[16]) % 2 == 1 else "female"


def head_outcomes(
    settlement_ids: list[str], is_reversal: list[bool], reverses: list[str]
) -> dict[int, str]:
    """Rows decided by their ids alone -> reason code: a repeated settlement id is a
    duplicate; a reversal is matched if the file holds the record it names; a record
    some (non-duplicate) reversal names is reversed."""
    seen: set[str] = set()
    heads: dict[int, str] = {}
    for i, sid in enumerate(settlement_ids):
        if sid:
            if sid in seen:
                heads[i] = "duplicate"
            else:
                seen.add(sid)
    targets = set()
    for i, flag in enumerate(is_reversal):
        if flag and i not in heads:
            target, sid = reverses[i], settlement_ids[i]
            matched = bool(target) and target in seen and target != sid
            heads[i] = "reversal" if matched else "reversal_unmatched"
            if target:
                targets.add(target)
    if targets:
        for i, sid in enumerate(settlement_ids):
            if sid in targets and i not in heads:
                heads[i] = "reversed"
    return heads


class _Members(dict):
    """ID number cell -> (member or the trimmed text, ID error code, first covered admission day
    or None for any day, coverage start, the member's covered stays or None if not
    enrolled) — each distinct text checked once. `stays`: member -> covered stays."""

    def __init__(self, plan: Plan, coverage: Mapping[str, Coverage]) -> None:
        super().__init__()
        self.plan = plan
        self.coverage = coverage
        self.stays: dict[str, list[tuple]] = {}

    def __missing__(self, cell: str | None) -> tuple:
        text = cell_text(cell)
        try:
            member = normalize_id_number(text)
        except IdNumberError as e:
            entry = (text, e.code, None, None, None)
        else:
            cover = self.coverage.get(member)
            if cover is None:
                entry = (member, None, None, None, None)
            else:
                first = cover.first_admission(self.plan)
                stays = self.stays.setdefault(member, [])
                entry = (member, None, first, cover.start(self.plan), stays)
        self[cell] = entry
        return entry


class _Matching(dict):
    """`ledger.lump_sums_matching`, computed once per (diagnosis code, sex)."""

    def __init__(self, matching) -> None:
        super().__init__()
        self.matching = matching

    def __missing__(self, key: tuple[str, str | None]) -> list:
        found = self[key] = self.matching(*key)
        return found

    def __call__(self, diagnosis: str, sex: str | None) -> list:
        return self[diagnosis, sex]


class _Dates(dict):
    """Date text -> date or None (parse_iso_date), each distinct text parsed once."""

    def __missing__(self, text: str) -> date | None:
        day = self[text] = parse_iso_date(text)
        return day


def adjudicate_columns(
    plan: Plan,
    records: RecordColumns,
    coverage: Mapping[str, Coverage],
    *,
    states: Mapping[str, LedgerState] | None = None,
) -> FileOutcomes:
    """Outcomes of a whole file (see FileOutcomes): one inpatient outcome per record,
    then the lump sums paid, by input row and plan order.

    `coverage` maps normalised ID numbers to their enrollment in the plan's year;
    `states` optionally gives each member's ledger state before this file.
    """
    n = len(records.settlement_id)
    sids = records.settlement_id
    status = [_COVERED] * n
    reason_code = [""] * n
    reason = [""] * n
    member_col = [""] * n
    coverage_start: list[date | None] = [None] * n
    reverses_col = [""] * n

    # 1. duplicates and reversals
    for i, head in head_outcomes(sids, records.is_reversal, records.reverses).items():
        status[i] = _HEAD_STATUS[head]
        if status[i] == S.REVERSAL.value:
            reverses_col[i] = records.reverses[i]
        reason_code[i] = head
        reason[i] = REASON_MESSAGES[head]

    # 2. every other row: the checks in domain order; covered stays wait for step 3
    sources = records.sources
    base = records.amounts[plan.inpatient.base]
    base_fens, base_errors = base.fen, base.errors
    messages: dict[tuple[str, str], str] = {}

    def not_covered(i: int, state: str, why: str, source: str, member: str) -> None:
        status[i] = state
        reason_code[i] = why
        text = messages.get((why, source))
        if text is None:
            text = messages[(why, source)] = reason_message(why, source)
        reason[i] = text
        member_col[i] = member

    members = _Members(plan, coverage)
    dates = _Dates()
    first_day, last_day = plan.period.start, plan.period.end
    for i, sid, id_text, admit_text, discharge_text, diagnosis in zip(
        range(n),
        sids,
        records.id_number,
        records.admit_date,
        records.discharge_date,
        records.diagnosis_code,
        strict=True,
    ):
        if status[i] is not _COVERED:  # decided in step 1
            continue
        if not sid:
            not_covered(
                i, _INVALID, "invalid.missing_settlement_id", sources.get("settlement_id", ""), ""
            )
            continue
        member, id_error, first_admission, start, mine = members[id_text]
        if id_error is not None:
            why = f"invalid.id_number.{id_error}"
            not_covered(i, _INVALID, why, sources.get("id_number", ""), member)
            continue
        admit = dates[admit_text]
        if admit is None:
            not_covered(i, _INVALID, "invalid.admit_date", sources.get("admit_date", ""), member)
            continue
        discharge = dates[discharge_text]
        if discharge is None:
            source = sources.get("discharge_date", "")
            not_covered(i, _INVALID, "invalid.discharge_date", source, member)
            continue
        if discharge < admit:
            source = sources.get("discharge_date", "")
            not_covered(i, _INVALID, "invalid.discharge_before_admission", source, member)
            continue
        base_fen = base_fens[i]
        if base_fen is None or base_fen < 0:
            error, source = base_errors.get(i, ("negative", base.source))
            not_covered(i, _INVALID, f"invalid.base.{error}", source, member)
            continue
        if not first_day <= discharge <= last_day:
            not_covered(i, S.OUT_OF_PERIOD.value, "out_of_period", "", member)
            continue
        if mine is None:
            not_covered(i, S.NOT_ENROLLED.value, "not_enrolled", "", member)
            continue
        if first_admission is not None and admit < first_admission:
            not_covered(i, S.WAITING_PERIOD.value, "waiting_period", "", member)
            coverage_start[i] = start
            continue
        member_col[i] = member
        coverage_start[i] = start
        # Ledger order is (discharge date, settlement id); ids are unique here.
        mine.append((discharge, sid, base_fen, diagnosis, i))

    # 3. each member-year through the ledger, results appended in ledger order
    ledger: list[int] = []
    rules = inpatient_rules(plan.inpatient)
    lump_sums_for = _Matching(lump_sums_matching(plan))
    rank = {b.code: k for k, b in enumerate(plan.benefits)}
    lumps: list[tuple[int, int, str, int]] = []
    for member, mine in members.stays.items():
        if not mine:
            continue
        mine.sort()
        results, awards, _ = walk_member_year(
            rules,
            lump_sums_for,
            [(s[2], s[3]) for s in mine],
            _sex(member),
            (states.get(member) if states else None) or _NO_STATE,
        )
        for stay, amounts in zip(mine, results, strict=True):
            ledger += (stay[4], stay[2], amounts[2] - amounts[3])
            ledger += amounts
        for position, lump in awards:
            lumps.append((mine[position][4], rank[lump.code], lump.code, lump.lump_sum_fen))
    lumps.sort()
    return FileOutcomes(
        rows={
            "row": records.row,
            "settlement_id": sids,
            "status": status,
            "reason_code": reason_code,
            "reason": reason,
            "member": member_col,
            "coverage_start": coverage_start,
            "reverses": reverses_col,
        },
        stays=ledger,
        lump_sums=[(i, benefit, fen) for i, _, benefit, fen in lumps],
    )
