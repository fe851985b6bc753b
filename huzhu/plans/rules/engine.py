"""The row engine: every settlement record of a file -> its outcome (plus lump sums).

Status precedence is domain.md's: duplicate -> reversal -> reversed -> invalid ->
out_of_period -> not_enrolled -> waiting_period -> covered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date

from huzhu.members.idnumbers import IdNumberError, normalize_id_number

from ..schema import Plan
from .amounts import parse_iso_date
from .ledger import Coverage, CoveredStay, LedgerState, adjudicate_member_year
from .outcomes import Outcome, OutcomeStatus, reason_message
from .records import SettlementRecord

__all__ = ["adjudicate_records", "classify_record"]

S = OutcomeStatus


def _sex(member: str) -> str:
    return "male" if int(member[16]) % 2 == 1 else "female"


def classify_record(
    plan: Plan,
    record: SettlementRecord,
    coverage: Mapping[str, Coverage],
) -> tuple[OutcomeStatus, str, str, str, int | None, date | None, date | None]:
    """Status of one record that is neither duplicate nor part of a reversal.

    Returns (status, reason_code, reason, member, base_fen, discharge, coverage_start).
    """
    src = record.sources
    if not record.settlement_id:
        code = "invalid.missing_settlement_id"
        return (
            S.INVALID,
            code,
            reason_message(code, src.get("settlement_id", "")),
            "",
            None,
            None,
            None,
        )
    try:
        member = normalize_id_number(record.id_number)
    except IdNumberError as e:
        code = f"invalid.id_number.{e.code}"
        return (
            S.INVALID,
            code,
            reason_message(code, src.get("id_number", "")),
            record.id_number,
            None,
            None,
            None,
        )
    admit = parse_iso_date(record.admit_date)
    if admit is None:
        code = "invalid.admit_date"
        return (
            S.INVALID,
            code,
            reason_message(code, src.get("admit_date", "")),
            member,
            None,
            None,
            None,
        )
    discharge = parse_iso_date(record.discharge_date)
    if discharge is None:
        code = "invalid.discharge_date"
        return (
            S.INVALID,
            code,
            reason_message(code, src.get("discharge_date", "")),
            member,
            None,
            None,
            None,
        )
    if discharge < admit:
        code = "invalid.discharge_before_admission"
        return (
            S.INVALID,
            code,
            reason_message(code, src.get("discharge_date", "")),
            member,
            None,
            None,
            None,
        )
    base = record.amount(plan.inpatient.base)
    if base.error is not None or base.fen is None or base.fen < 0:
        code = f"invalid.base.{base.error or 'negative'}"
        return S.INVALID, code, reason_message(code, base.source), member, None, None, None
    if not plan.period.contains(discharge):
        return (
            S.OUT_OF_PERIOD,
            "out_of_period",
            reason_message("out_of_period"),
            member,
            None,
            None,
            None,
        )
    cover = coverage.get(member)
    if cover is None:
        return (
            S.NOT_ENROLLED,
            "not_enrolled",
            reason_message("not_enrolled"),
            member,
            None,
            None,
            None,
        )
    start = cover.start(plan)
    if not cover.covers_admission(plan, admit):
        return (
            S.WAITING_PERIOD,
            "waiting_period",
            reason_message("waiting_period"),
            member,
            None,
            None,
            start,
        )
    return S.COVERED, "", "", member, base.fen, discharge, start


def adjudicate_records(
    plan: Plan,
    records: Sequence[SettlementRecord],
    coverage: Mapping[str, Coverage],
    *,
    states: Mapping[str, LedgerState] | None = None,
) -> list[Outcome]:
    """Outcomes of a whole file: one inpatient outcome per record in input order, then
    the lump sums paid, by input row and plan order.

    `coverage` maps normalised ID numbers to their enrollment in the plan's year;
    `states` optionally gives each member's ledger state before this file.
    """
    inpatient_code = plan.inpatient.code
    seen: set[str] = set()
    duplicate = []
    for r in records:
        sid = r.settlement_id
        duplicate.append(bool(sid) and sid in seen)
        if sid:
            seen.add(sid)
    targets = {
        r.reverses
        for r, dup in zip(records, duplicate, strict=True)
        if r.is_reversal and not dup and r.reverses
    }
    outcomes: list[Outcome | None] = [None] * len(records)
    by_member: dict[str, list[tuple[int, CoveredStay, date | None]]] = defaultdict(list)
    for i, r in enumerate(records):
        sid = r.settlement_id
        if duplicate[i]:
            status, code = S.DUPLICATE, "duplicate"
        elif r.is_reversal:
            matched = bool(r.reverses) and r.reverses in seen and r.reverses != sid
            status, code = S.REVERSAL, "reversal" if matched else "reversal_unmatched"
        elif sid and sid in targets:
            status, code = S.REVERSED, "reversed"
        else:
            status = None
        if status is not None:
            outcomes[i] = Outcome(
                row=r.row,
                settlement_id=sid,
                benefit=inpatient_code,
                status=status,
                reason_code=code,
                reason=reason_message(code),
                reverses=r.reverses if status is S.REVERSAL else "",
            )
            continue
        status, code, reason, member, base_fen, discharge, start = classify_record(
            plan, r, coverage
        )
        if status is not S.COVERED:
            outcomes[i] = Outcome(
                row=r.row,
                settlement_id=sid,
                benefit=inpatient_code,
                status=status,
                reason_code=code,
                reason=reason,
                member=member,
                coverage_start=start,
            )
            continue
        assert base_fen is not None and discharge is not None
        by_member[member].append(
            (i, CoveredStay(sid, discharge, base_fen, r.diagnosis_code), start)
        )

    lump_after: dict[int, list[Outcome]] = defaultdict(list)
    for member, items in by_member.items():
        index_of = {stay.key: (i, start) for i, stay, start in items}
        state = states.get(member) if states else None
        result = adjudicate_member_year(
            plan, [s for _, s, _ in items], sex=_sex(member), state=state
        )
        for b in result.benefits:
            i, start = index_of[b.key]
            outcomes[i] = Outcome(
                row=records[i].row,
                settlement_id=b.key,
                benefit=inpatient_code,
                status=S.COVERED,
                amount_fen=b.amount_fen,
                deductible_fen=b.deductible_fen,
                base_fen=b.base_fen,
                excess_fen=b.excess_fen,
                bands=b.bands,
                before_cap_fen=b.before_cap_fen,
                cap_cut_fen=b.cap_cut_fen,
                member=member,
                coverage_start=start,
            )
        for award in result.lump_sums:
            i, start = index_of[award.key]
            lump_after[i].append(
                Outcome(
                    row=records[i].row,
                    settlement_id=award.key,
                    benefit=award.benefit,
                    status=S.COVERED,
                    amount_fen=award.amount_fen,
                    member=member,
                    coverage_start=start,
                )
            )
    order = {b.code: n for n, b in enumerate(plan.benefits)}
    out: list[Outcome] = [o for o in outcomes if o is not None]
    assert len(out) == len(records)
    for i in sorted(lump_after):
        out.extend(sorted(lump_after[i], key=lambda o: order[o.benefit]))
    return out
