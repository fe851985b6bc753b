"""The row engine over a polars table: `huzhu simulate --engine row`.

polars only carries the cells in and the outcomes out: each needed column comes out as a
Python list of text (`to_list`), the records are read and adjudicated row by row in
plain Python (`records.read_columns`, `engine.adjudicate_columns`), and the outcome
columns go back into one frame with the bulk engine's columns.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import polars as pl

from ..schema import Plan
from .engine import adjudicate_columns, outcome_column_names
from .ledger import Coverage, LedgerState
from .records import ColumnPlan, read_columns

__all__ = ["adjudicate_table", "coverage_of"]

_TEXT_COLUMNS = {
    "settlement_id",
    "benefit",
    "status",
    "reason_code",
    "reason",
    "member",
    "reverses",
}


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


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Millions of small tuples and lists, none in a reference cycle: the cyclic garbage
    collector would only rescan them over and over (about a third of the run time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def adjudicate_table(
    plan: Plan,
    settlements: pl.DataFrame,
    columns: ColumnPlan,
    coverage: pl.DataFrame | Mapping[str, Coverage],
    *,
    states: Mapping[str, LedgerState] | None = None,
) -> pl.DataFrame:
    """Outcomes of every settlement row (a frame of text columns) under `plan`.

    `coverage`: a coverage frame (`simulation.coverage_from_enrollments`) or a mapping of
    normalised ID numbers to their enrollment in the plan's year.
    """
    with _collector_paused():
        cover = coverage_of(coverage) if isinstance(coverage, pl.DataFrame) else coverage
        records = read_columns(
            lambda column: settlements.get_column(column).to_list(),
            columns,
            amount_fields=[plan.inpatient.base],
        )
        out = adjudicate_columns(plan, records, cover, states=states)
        del records
        series = []
        for name in outcome_column_names(plan):
            values = out.pop(name)
            if name in _TEXT_COLUMNS:
                dtype = pl.String
            elif name == "coverage_start":
                dtype = pl.Date
            else:
                dtype = pl.Int64
            series.append(pl.Series(name, values, dtype=dtype))
            del values
        return pl.DataFrame(series)
