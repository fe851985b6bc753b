"""`huzhu simulate`: price a plan on enrollment and settlement files, no database.

`simulate(...)` runs one plan over already-read tables with either engine and returns
the outcome table (for OUT.csv) and a summary; the command only parses flags and prints.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

from huzhu.core.money import fen_to_yuan
from huzhu.members.idnumbers import with_id_number_check

from .rules.amounts import iso_date_expr
from .rules.bulk import MEMBER_KEY, adjudicate_frame
from .rules.outcomes import OutcomeStatus
from .rules.records import (
    ColumnPlan,
    RecordsFormatError,
    column_plan,
    records_frame,
)
from .rules.rowpath import adjudicate_table
from .schema import Plan

__all__ = [
    "ENROLLMENT_COLUMNS",
    "EnrollmentStats",
    "SimulationResult",
    "coverage_from_enrollments",
    "simulate",
    "outcome_csv_plan",
    "yuan_expr",
    "yuan_decimal_expr",
]

ENROLLMENT_COLUMNS = ("id_number", "year", "union_code", "enrolled_on", "renewal")
_TRUE = ["true", "1", "yes", "y", "t", "是", "续保"]
_FALSE = ["false", "0", "no", "n", "f", "否", "新增", "新"]


@dataclass(frozen=True)
class EnrollmentStats:
    rows: int
    rows_for_year: int
    rejected: int  # rows of the plan's year with a bad ID number, date or renewal flag
    members: int  # distinct members enrolled in the plan's year


def coverage_from_enrollments(
    frame: pl.DataFrame, year: int
) -> tuple[pl.DataFrame, EnrollmentStats]:
    """Coverage (member, enrolled_on, renewal, member_key) of `year` from an enrollment
    table, sorted by member; `member_key` is the bulk engine's integer key of the number
    (`with_id_number_check`), so it need not check the numbers again.

    A member listed twice for the year keeps the earliest enrollment date and counts as a
    renewal if any row says so. Rows with a bad ID number, date or flag are rejected.
    """
    present = {c.strip().lower(): c for c in frame.columns}
    missing = [c for c in ENROLLMENT_COLUMNS if c not in present and c != "union_code"]
    if missing:
        raise RecordsFormatError("参保文件缺少必需的列：" + "、".join(missing))
    lf = frame.lazy().select(
        pl.col(present["id_number"]).alias("id_number"),
        pl.col(present["year"]).fill_null("").str.strip_chars().alias("year"),
        pl.col(present["enrolled_on"]).fill_null("").alias("enrolled_on_text"),
        pl.col(present["renewal"])
        .fill_null("")
        .str.strip_chars()
        .str.to_lowercase()
        .alias("renewal_text"),
    )
    lf = lf.filter(pl.col("year") == str(year))
    lf = with_id_number_check(lf, "id_number", out="member", code="id_err", key=MEMBER_KEY)
    lf = lf.with_columns(
        iso_date_expr(pl.col("enrolled_on_text")).alias("enrolled_on"),
        pl.when(pl.col("renewal_text").is_in(_TRUE))
        .then(pl.lit(True))
        .when(pl.col("renewal_text").is_in(_FALSE))
        .then(pl.lit(False))
        .otherwise(pl.lit(None, dtype=pl.Boolean))
        .alias("renewal"),
    )
    checked = lf.select("member", MEMBER_KEY, "id_err", "enrolled_on", "renewal").collect(
        engine="in-memory"
    )
    rows_for_year = checked.height
    good = checked.filter(
        pl.col("id_err").is_null()
        & pl.col("enrolled_on").is_not_null()
        & pl.col("renewal").is_not_null()
    )
    # Grouped and sorted by the integer key: the same groups and the same order as by the
    # number itself (17 digits, then a digit or X, which sorts last both ways).
    cov = (
        good.lazy()
        .group_by(MEMBER_KEY)
        .agg(pl.col("member").first(), pl.col("enrolled_on").min(), pl.col("renewal").any())
        .sort(MEMBER_KEY)
        .select("member", "enrolled_on", "renewal", MEMBER_KEY)
        .collect(engine="in-memory")
    )
    good_rows = good.height
    stats = EnrollmentStats(frame.height, rows_for_year, rows_for_year - good_rows, cov.height)
    return cov, stats


def yuan_decimal_expr(col: pl.Expr) -> pl.Expr:
    """Int64 fen as a Decimal(38, 2) amount in yuan, exactly: the fen are its unscaled
    value (no arithmetic). Written to CSV as "1234.56"; null stays null."""
    return col.cast(pl.Int128).reinterpret(dtype=pl.Decimal(38, 2))


def yuan_expr(col: pl.Expr) -> pl.Expr:
    """Vectorised fen_to_yuan (Int64 fen -> "1234.56"); null stays null."""
    return yuan_decimal_expr(col).cast(pl.String)


def outcome_csv_plan(outcomes: pl.DataFrame, plan: Plan) -> pl.LazyFrame:
    """OUT.csv: `settlement_id,benefit,status,amount,deductible_used` first, then the
    breakdown (blank unless a covered inpatient row), reason and the input row number.
    One inpatient row per input row in input order, then one row per lump sum paid.
    Amounts are Decimal(38, 2) columns (the CSV writer prints them as yuan, "1234.56").
    Lazy: `sink_csv` formats it batch by batch instead of building the whole table."""
    n_bands = len(plan.inpatient.tiers)
    covered_inpatient = pl.col("__covered_inpatient")

    def breakdown(name: str) -> pl.Expr:
        return pl.when(covered_inpatient).then(yuan_decimal_expr(pl.col(name)))

    def text(name: str) -> pl.Expr:  # empty text is written as an empty cell
        return pl.when(pl.col(name) != "").then(pl.col(name)).alias(name)

    return (
        outcomes.lazy()
        .with_columns(
            (
                (pl.col("status") == OutcomeStatus.COVERED.value)
                & (pl.col("benefit") == plan.inpatient.code)
            ).alias("__covered_inpatient")
        )
        .select(
            "settlement_id",
            "benefit",
            "status",
            yuan_decimal_expr(pl.col("amount_fen")).alias("amount"),
            yuan_decimal_expr(pl.col("deductible_fen")).alias("deductible_used"),
            breakdown("base_fen").alias("base"),
            breakdown("excess_fen").alias("excess"),
            *[
                breakdown(f"band_{i}_{k}_fen").alias(f"band_{i + 1}_{k}")
                for i in range(n_bands)
                for k in ("base", "amount")
            ],
            breakdown("before_cap_fen").alias("before_cap"),
            breakdown("cap_cut_fen").alias("cap_cut"),
            text("reverses"),
            text("reason_code"),
            text("reason"),
            "row",
        )
    )


@dataclass
class SimulationResult:
    plan: Plan
    outcomes: pl.DataFrame  # adjudicate_frame's columns
    summary: dict = field(default_factory=dict)


def _median_fen(values: pl.Series) -> int:
    if values.is_empty():
        return 0
    values = values.sort()
    n = len(values)
    if n % 2:
        return int(values[n // 2])
    total = int(values[n // 2 - 1]) + int(values[n // 2])
    return (total + 1) // 2  # half a fen rounds up


def summarize(plan: Plan, outcomes: pl.DataFrame, members_enrolled: int, rows: int) -> dict:
    """The summary of one plan's outcomes. With the bulk engine's `member_key` column the
    members are told apart by that integer, otherwise by `member`."""
    groups = (
        outcomes.lazy()
        .group_by("benefit", "status")
        .agg(pl.len().alias("n"), pl.col("amount_fen").sum().alias("fen"))
        .collect(engine="in-memory")
    )
    code = plan.inpatient.code
    counts = {s: n for b, s, n, _ in groups.iter_rows() if b == code}
    status_counts = {s.value: int(counts.get(s.value, 0)) for s in OutcomeStatus}
    by_benefit: dict[str, int] = {}
    lump_counts: dict[str, int] = {}
    for b, _, n, fen in groups.iter_rows():
        by_benefit[b] = by_benefit.get(b, 0) + int(fen or 0)
        lump_counts[b] = lump_counts.get(b, 0) + int(n)
    payout = sum(by_benefit.values())
    member = MEMBER_KEY if MEMBER_KEY in outcomes.columns else "member"
    per_member = (
        outcomes.lazy()
        .select(member, "amount_fen")
        .filter(pl.col("amount_fen") > 0)
        .group_by(member)
        .agg(pl.col("amount_fen").sum())
        .collect(engine="in-memory")
        .get_column("amount_fen")
    )
    paid = len(per_member)
    mean = (2 * payout + paid) // (2 * paid) if paid else 0
    income = members_enrolled * plan.fee_per_member_fen
    loss_ratio = (
        str((Decimal(payout) / Decimal(income)).quantize(Decimal("0.0001"), ROUND_HALF_UP))
        if income
        else None
    )
    return {
        "plan": plan.name,
        "year": plan.year,
        "period": [plan.period.start.isoformat(), plan.period.end.isoformat()],
        "rows": rows,
        "outcome_rows": outcomes.height,
        "status_counts": status_counts,
        "payout_total": fen_to_yuan(payout),
        "payout_by_benefit": {
            b.code: fen_to_yuan(by_benefit.get(b.code, 0)) for b in plan.benefits
        },
        "lump_sums_paid": {b.code: lump_counts.get(b.code, 0) for b in plan.lump_sums},
        "members_enrolled": members_enrolled,
        "fee_income": fen_to_yuan(income),
        "members_paid": paid,
        "mean_per_paid_member": fen_to_yuan(mean),
        "median_per_paid_member": fen_to_yuan(_median_fen(per_member)),
        "loss_ratio": loss_ratio,
    }


def simulate(
    plan: Plan,
    settlements: pl.DataFrame,
    coverage: pl.DataFrame,
    *,
    members_enrolled: int,
    engine: str = "bulk",
    columns: ColumnPlan | None = None,
    out: str | None = None,
) -> SimulationResult:
    """Adjudicate every settlement row under `plan`; `coverage` from coverage_from_enrollments.

    With `out`, OUT.csv is written there (in a second thread, while the summary is worked
    out: polars leaves the interpreter lock while it writes). Raises OSError if it cannot.
    """
    base = plan.inpatient.base
    columns = columns or column_plan(settlements.columns, need=[base])
    if not columns.has(base):
        column_plan(settlements.columns, need=[base])  # raises with the message
    if engine == "bulk":
        lf = records_frame(settlements, columns, amount_fields=[base])
        outcomes = adjudicate_frame(plan, lf, coverage, columns, member_key=True)
    elif engine == "row":
        outcomes = adjudicate_table(plan, settlements, columns, coverage)
    else:
        raise ValueError(f"unknown engine {engine!r}")
    if out is None:
        summary = summarize(plan, outcomes, members_enrolled, settlements.height)
        return SimulationResult(plan, outcomes, summary)
    with ThreadPoolExecutor(max_workers=1) as pool:
        written = pool.submit(lambda: outcome_csv_plan(outcomes, plan).sink_csv(out))
        summary = summarize(plan, outcomes, members_enrolled, settlements.height)
        written.result()
    return SimulationResult(plan, outcomes, summary)
