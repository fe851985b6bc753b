"""Shared helpers for the plan-engine tests: run both engines on the same rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import polars as pl

from huzhu.members.idnumbers import check_digit
from huzhu.plans.rules.bulk import adjudicate_frame, outcomes_from_frame
from huzhu.plans.rules.ledger import Coverage
from huzhu.plans.rules.records import column_plan, records_frame
from huzhu.plans.rules.rowpath import adjudicate_table
from huzhu.plans.schema import Plan, plan_from_data

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
    return outcomes_from_frame(adjudicate_table(plan, frame, cp, coverage), plan)


def run_bulk(plan: Plan, rows, coverage, header=CANONICAL_HEADER):
    """`coverage`: a mapping, or a coverage frame as it is (e.g. coverage_from_enrollments')."""
    cp = column_plan(header, need=[plan.inpatient.base])
    frame = rows_frame(rows, header)
    lf = records_frame(frame, cp, amount_fields=[plan.inpatient.base])
    cov = coverage if isinstance(coverage, pl.DataFrame) else coverage_frame(coverage)
    return outcomes_from_frame(adjudicate_frame(plan, lf, cov, cp), plan)


def renewed(*ids: str) -> dict[str, Coverage]:
    return {i: Coverage(date(2025, 11, 1), True) for i in ids}


def run_both(plan: Plan, rows, coverage, header=CANONICAL_HEADER):
    """Row-engine outcomes, after checking the bulk engine gives exactly the same."""
    row = run_row(plan, rows, coverage, header)
    bulk = run_bulk(plan, rows, coverage, header)
    assert [o.comparable() for o in row] == [o.comparable() for o in bulk]
    return row


def stay(sid, base, *, who=None, admit="2026-03-01", discharge="2026-03-05", diag="", reverses=""):
    return {
        "settlement_id": sid,
        "id_number": who or MEMBER,
        "admit_date": admit,
        "discharge_date": discharge,
        "self_pay_in_policy": base,
        "diagnosis_code": diag,
        "reverses": reverses,
    }


MEMBER = make_id(born="19730606", seq="381")  # male (17th digit 1)
WOMAN = make_id(born="19850101", seq="002")  # female (17th digit 2)


def make_plan(**inpatient_overrides):
    """The domain.md example plan with the inpatient benefit adjusted."""
    inpatient = {
        "code": "inpatient",
        "name": "住院医疗互助",
        "base": "self_pay_in_policy",
        "deductible": {"amount": "500.00", "per": "year"},
        "tiers": [
            {"up_to": "10000.00", "ratio": "0.50"},
            {"up_to": "50000.00", "ratio": "0.60"},
            {"ratio": "0.70"},
        ],
        "cap": {"amount": "30000.00", "per": "year"},
    }
    inpatient.update(inpatient_overrides)
    inpatient = {k: v for k, v in inpatient.items() if v is not None}
    return plan_from_data(
        {
            "year": 2026,
            "name": "测试方案",
            "period": {"start": "2026-01-01", "end": "2026-12-31"},
            "fee_per_member": "60.00",
            "waiting_period_days": 90,
            "claim_window_days": 365,
            "benefits": [
                inpatient,
                {
                    "code": "critical_illness",
                    "name": "重大疾病互助",
                    "lump_sum": "10000.00",
                    "diagnoses": ["C00-C97", "I21", "I60-I64"],
                    "once_per": "year",
                },
                {
                    "code": "female_special",
                    "name": "女职工特殊疾病互助",
                    "lump_sum": "5000.00",
                    "sex": "female",
                    "diagnoses": ["C50", "C53", "C54", "C56"],
                    "once_per": "lifetime",
                },
            ],
        }
    )
