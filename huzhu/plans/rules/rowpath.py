"""The row engine over a polars table: `huzhu simulate --engine row`.

polars only carries the cells in and the outcomes out: each needed column comes out as a
Python list of text (`to_list`), the records are read and adjudicated row by row in
plain Python (`records.read_columns`, `engine.adjudicate_columns`), and the outcome
columns go back into one frame with the bulk engine's columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import polars as pl

from huzhu.core.gcpause import gc_paused

from ..schema import Plan
from .engine import STAY_FIELDS, FileOutcomes, adjudicate_columns
from .ledger import Coverage, LedgerState
from .outcomes import OutcomeStatus as S
from .outcomes import outcome_columns
from .records import ColumnPlan, read_columns

__all__ = ["adjudicate_table", "coverage_of"]

_EPOCH = date(1970, 1, 1)


def coverage_of(frame: pl.DataFrame) -> dict[str, Coverage]:
    """member -> Coverage from a coverage frame (member, enrolled_on, renewal)."""
    return {
        m: Coverage(d, r)
        for m, d, r in zip(
            frame.get_column("member").to_list(),
            frame.get_column("enrolled_on").to_list(),
            frame.get_column("renewal").to_list(),
            strict=True,
        )
    }


def adjudicate_table(
    plan: Plan,
    settlements: pl.DataFrame,
    columns: ColumnPlan,
    coverage: pl.DataFrame | Mapping[str, Coverage],
    *,
    states: Mapping[str, LedgerState] | None = None,
) -> pl.DataFrame:
    """Outcomes of every settlement row (a frame of text columns) under `plan`, with the
    bulk engine's columns (`outcomes.outcome_columns`).

    `coverage`: a coverage frame (`simulation.coverage_from_enrollments`) or a mapping of
    normalised ID numbers to their enrollment in the plan's year.
    """
    with gc_paused():
        cover = coverage_of(coverage) if isinstance(coverage, pl.DataFrame) else coverage
        records = read_columns(
            lambda column: settlements.get_column(column).to_list(),
            columns,
            amount_fields=[plan.inpatient.base],
        )
        out = adjudicate_columns(plan, records, cover, states=states)
        del records
        return _frame(plan, out)


class _DayNumbers(dict):
    def __missing__(self, day: date | None) -> int | None:
        number = self[day] = None if day is None else (day - _EPOCH).days
        return number


def _days(values: list[date | None]) -> pl.Series:
    """Dates as a Date series (through day numbers: faster than date objects)."""
    numbers = list(map(_DayNumbers().__getitem__, values))
    return pl.Series(numbers, dtype=pl.Int32).cast(pl.Date)


def _frame(plan: Plan, out: FileOutcomes) -> pl.DataFrame:
    """The outcome frame: per-row columns as they are; each covered stay's money put at
    its row (a scatter in polars), 0 (base: null) elsewhere; then the lump sums."""
    rows = out.rows
    n = len(rows["settlement_id"])
    names = ["position", *STAY_FIELDS] + [
        f"band_{i}_{k}_fen" for i in range(len(plan.inpatient.tiers)) for k in ("base", "amount")
    ]
    flat = pl.Series(out.stays, dtype=pl.Int64)
    stays = {name: flat.gather_every(len(names), k) for k, name in enumerate(names)}
    at = stays.pop("position")
    money = {}
    for name, values in stays.items():
        if name == "base_fen":
            blank = pl.repeat(None, n, dtype=pl.Int64, eager=True)
        else:
            blank = pl.zeros(n, dtype=pl.Int64, eager=True)
        money[name] = blank.scatter(at, values) if len(at) else blank
    frame = pl.DataFrame(
        {
            "row": pl.Series(rows["row"], dtype=pl.Int64),
            "settlement_id": pl.Series(rows["settlement_id"], dtype=pl.String),
            "benefit": pl.repeat(plan.inpatient.code, n, dtype=pl.String, eager=True),
            "status": pl.Series(rows["status"], dtype=pl.String),
            **money,
            "reason_code": pl.Series(rows["reason_code"], dtype=pl.String),
            "reason": pl.Series(rows["reason"], dtype=pl.String),
            "member": pl.Series(rows["member"], dtype=pl.String),
            "coverage_start": _days(rows["coverage_start"]),
            "reverses": pl.Series(rows["reverses"], dtype=pl.String),
        }
    )
    order = outcome_columns(plan)
    if not out.lump_sums:
        return frame.select(order)
    at = [i for i, _, _ in out.lump_sums]
    lumps = frame.select(
        "row", "settlement_id", "status", "reason_code", "reason", "member", "coverage_start"
    )[at].with_columns(
        pl.Series("benefit", [b for _, b, _ in out.lump_sums], dtype=pl.String),
        pl.lit(S.COVERED.value).alias("status"),
        pl.Series("amount_fen", [fen for _, _, fen in out.lump_sums], dtype=pl.Int64),
        pl.lit("").alias("reason_code"),
        pl.lit("").alias("reason"),
        pl.lit("").alias("reverses"),
        pl.lit(None, dtype=pl.Int64).alias("base_fen"),
        *[pl.lit(0, dtype=pl.Int64).alias(c) for c in stays if c not in ("amount_fen", "base_fen")],
    )
    return pl.concat([frame.select(order), lumps.select(order)])
