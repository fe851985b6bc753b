"""Shared helpers for the plan-engine tests: run both engines on the same rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import polars as pl

from huzhu.members.idnumbers import check_digit
from huzhu.plans.rules.bulk import adjudicate_frame, outcomes_from_frame
from huzhu.plans.rules.engine import adjudicate_records
from huzhu.plans.rules.ledger import Coverage
from huzhu.plans.rules.records import column_plan, records_frame, records_from_rows
from huzhu.plans.schema import Plan

CANONICAL_HEADER = [
    "settlement_id",
    "id_number",
    "admit_date",
    "discharge_date",
    "self_pay_in_policy",
    "diagnosis_code",
    "reverses",
]


def make_id(region: str = "330683", born: str = "19730606", seq: str = "381") -> str:
    body = region + born + seq
    return body + check_digit(body)


def coverage_frame(coverage: Mapping[str, Coverage]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "member": list(coverage),
            "enrolled_on": [c.enrolled_on for c in coverage.values()],
            "renewal": [c.renewal for c in coverage.values()],
        },
        schema={"member": pl.String, "enrolled_on": pl.Date, "renewal": pl.Boolean},
    )


def rows_frame(rows: Sequence[Mapping[str, str | None]], header: Sequence[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {h: [r.get(h) for r in rows] for h in header}, schema={h: pl.String for h in header}
    )


def run_row(plan: Plan, rows, coverage, header=CANONICAL_HEADER):
    cp = column_plan(header, need=[plan.inpatient.base])
    frame = rows_frame(rows, header)
    records = records_from_rows(
        frame.iter_rows(named=True), cp, amount_fields=[plan.inpatient.base]
    )
    return adjudicate_records(plan, records, coverage)


def run_bulk(plan: Plan, rows, coverage, header=CANONICAL_HEADER):
    cp = column_plan(header, need=[plan.inpatient.base])
    frame = rows_frame(rows, header)
    lf = records_frame(frame, cp, amount_fields=[plan.inpatient.base])
    return outcomes_from_frame(adjudicate_frame(plan, lf, coverage_frame(coverage), cp), plan)


def renewed(*ids: str) -> dict[str, Coverage]:
    return {i: Coverage(date(2025, 11, 1), True) for i in ids}
