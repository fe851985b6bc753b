"""The bulk engine: the row engine's outcomes computed over polars columns.

Same inputs (a `records_frame`, a coverage frame) and the same outcomes, to the fen and
to the reason text, as `engine.adjudicate_records`; a hypothesis property test holds
the two equal. All money is Int64 fen; the only division is the half-up rounding.
Limits: amounts below 10^12 yuan (amounts.AMOUNT_LIMIT_FEN) keep every product in int64.
"""

from __future__ import annotations

import polars as pl

from huzhu.members.idnumbers import ID_ERROR_MESSAGES, with_id_number_check

from ..schema import Plan, diagnosis_matches
from .amounts import AMOUNT_ERROR_MESSAGES, iso_date_expr
from .outcomes import REASON_MESSAGES, BandPart, Outcome, OutcomeStatus, reason_message
from .records import ColumnPlan

__all__ = ["adjudicate_frame", "outcomes_from_frame", "outcome_columns"]

S = OutcomeStatus
_HEAD_CODES = ["duplicate", "reversal", "reversal_unmatched", "reversed"]


def outcome_columns(plan: Plan) -> list[str]:
    n = len(plan.inpatient.tiers)
    return [
        "row",
        "settlement_id",
        "benefit",
        "status",
        "amount_fen",
        "deductible_fen",
        "base_fen",
        "excess_fen",
        *[f"band_{i}_{k}_fen" for i in range(n) for k in ("base", "amount")],
        "before_cap_fen",
        "cap_cut_fen",
        "reason_code",
        "reason",
        "member",
        "coverage_start",
        "reverses",
    ]


def _reason_table(sources: ColumnPlan) -> dict[str, str]:
    """Every reason code whose text does not depend on the row -> its text."""
    table = {"": ""}
    table.update(REASON_MESSAGES)
    src = sources.source
    for key, field in (
        ("invalid.missing_settlement_id", "settlement_id"),
        ("invalid.admit_date", "admit_date"),
        ("invalid.discharge_date", "discharge_date"),
        ("invalid.discharge_before_admission", "discharge_date"),
    ):
        table[key] = reason_message(key, src(field))
    for id_code in ID_ERROR_MESSAGES:
        key = f"invalid.id_number.{id_code}"
        table[key] = reason_message(key, src("id_number"))
    return table


def _status_of(code: pl.Expr) -> pl.Expr:
    return (
        pl.when(code == "")
        .then(pl.lit(S.COVERED.value))
        .when(code.str.starts_with("invalid."))
        .then(pl.lit(S.INVALID.value))
        .when(code == "reversal_unmatched")
        .then(pl.lit(S.REVERSAL.value))
        .otherwise(code)
    )


def _group_start(key: pl.Expr, value: pl.Expr) -> pl.Expr:
    """Running sum of `value` within runs of equal `key` (frame sorted by key)."""
    total = value.cum_sum()
    offset = pl.when(key != key.shift(1)).then(total - value)
    offset = pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(0, dtype=pl.Int64)).otherwise(offset)
    return total - offset.forward_fill()


def adjudicate_frame(
    plan: Plan,
    records: pl.LazyFrame | pl.DataFrame,
    coverage: pl.LazyFrame | pl.DataFrame,
    sources: ColumnPlan,
) -> pl.DataFrame:
    """Outcomes of every record (`records_frame` output): one inpatient row per record in
    input order, then the lump sums paid, by input row and plan order. `coverage`: columns member (normalised
    ID), enrolled_on (Date), renewal (Boolean), one row per member enrolled in the year.

    Columns: see `outcome_columns(plan)`.
    """
    inpatient = plan.inpatient
    base = inpatient.base
    bands = inpatient.bands()
    period = plan.period
    rf = (
        records.lazy()
        .select(
            "row",
            "settlement_id",
            "id_number",
            "admit_date",
            "discharge_date",
            "diagnosis_code",
            "is_reversal",
            "reverses",
            pl.col(f"{base}_fen").alias("base_fen"),
            pl.col(f"{base}_err").alias("base_err"),
            pl.col(f"{base}_src").alias("base_src"),
        )
        .with_columns(
            ((pl.col("settlement_id") != "") & ~pl.col("settlement_id").is_first_distinct()).alias(
                "dup"
            )
        )
        .collect(engine="in-memory")
    )
    sid = pl.col("settlement_id")

    # Reversals are few: work out their targets on the small subset.
    rev = rf.filter(pl.col("is_reversal")).select("settlement_id", "reverses", "dup")
    named = [r for r in rev["reverses"].unique().to_list() if r]
    known = set(rf.filter(sid.is_in(named))["settlement_id"].to_list()) if named else set()
    targets = rev.filter(~pl.col("dup") & (pl.col("reverses") != ""))["reverses"].unique()

    # ID numbers and coverage: once per distinct number, then one join back.
    ids = with_id_number_check(
        rf.lazy().select("id_number").unique(), "id_number", out="member", code="id_err"
    ).join(coverage.lazy().select("member", "enrolled_on", "renewal"), on="member", how="left")
    ids = ids.with_columns(
        # An integer member key (first 17 digits, then the check character) sorts fast.
        (
            pl.col("member").str.slice(0, 17).str.to_integer(strict=False) * 11
            + pl.col("member").str.slice(17, 1).replace("X", "10").str.to_integer(strict=False)
        ).alias("mkey")
    )
    ids = ids.collect(engine="in-memory")
    # Carry no strings through the big join: the normalised number differs from the
    # raw text only for a few rows (spaces, full-width digits, a lower-case x).
    renamed = ids.filter(pl.col("member").is_not_null() & (pl.col("member") != pl.col("id_number")))
    lf = rf.lazy().join(
        ids.lazy().drop("member"), on="id_number", how="left", maintain_order="left"
    )
    member = pl.col("id_number")
    if renamed.height:
        member = member.replace(renamed["id_number"], renamed["member"])
    lf = lf.with_columns(pl.when(pl.col("id_err").is_null()).then(member).alias("member"))
    lf = lf.with_columns(
        iso_date_expr(pl.col("admit_date")).alias("admit"),
        iso_date_expr(pl.col("discharge_date")).alias("discharge"),
        pl.when(pl.col("renewal"))
        .then(pl.lit(period.start))
        .otherwise(pl.col("enrolled_on") + pl.duration(days=plan.waiting_period_days))
        .alias("start"),
    )
    admit, discharge = pl.col("admit"), pl.col("discharge")
    code = (
        pl.when(pl.col("dup"))
        .then(pl.lit("duplicate"))
        .when(
            pl.col("is_reversal")
            & (pl.col("reverses") != "")
            & (pl.col("reverses") != sid)
            & pl.col("reverses").is_in(list(known))
        )
        .then(pl.lit("reversal"))
        .when(pl.col("is_reversal"))
        .then(pl.lit("reversal_unmatched"))
        .when((sid != "") & sid.is_in(targets.implode()))
        .then(pl.lit("reversed"))
        .when(sid == "")
        .then(pl.lit("invalid.missing_settlement_id"))
        .when(pl.col("id_err").is_not_null())
        .then(pl.lit("invalid.id_number.") + pl.col("id_err"))
        .when(admit.is_null())
        .then(pl.lit("invalid.admit_date"))
        .when(discharge.is_null())
        .then(pl.lit("invalid.discharge_date"))
        .when(discharge < admit)
        .then(pl.lit("invalid.discharge_before_admission"))
        .when(pl.col("base_err").is_not_null())
        .then(pl.lit("invalid.base.") + pl.col("base_err"))
        .when(pl.col("base_fen") < 0)
        .then(pl.lit("invalid.base.negative"))
        .when((discharge < period.start) | (discharge > period.end))
        .then(pl.lit("out_of_period"))
        .when(pl.col("enrolled_on").is_null())
        .then(pl.lit("not_enrolled"))
        .when(~pl.col("renewal") & (admit < pl.col("start")))
        .then(pl.lit("waiting_period"))
        .otherwise(pl.lit(""))
    )
    lf = lf.with_columns(code.alias("reason_code"))
    rc = pl.col("reason_code")
    table = _reason_table(sources)
    amount_text = pl.lit(None, dtype=pl.String)
    for amount_code, text in AMOUNT_ERROR_MESSAGES.items():
        amount_text = (
            pl.when(rc == f"invalid.base.{amount_code}")
            .then(pl.concat_str([pl.col("base_src"), pl.lit("：金额" + text)]))
            .otherwise(amount_text)
        )
    lf = lf.with_columns(
        _status_of(rc).alias("status"),
        pl.when(rc.str.starts_with("invalid.base."))
        .then(amount_text)
        .otherwise(rc.replace_strict(table, default=None, return_dtype=pl.String))
        .alias("reason"),
        pl.when(rc.is_in(_HEAD_CODES) | (rc == "invalid.missing_settlement_id"))
        .then(pl.lit(""))
        .when(rc.str.starts_with("invalid.id_number."))
        .then(pl.col("id_number"))
        .otherwise(pl.col("member"))
        .alias("member"),
        pl.when((rc == "") | (rc == "waiting_period"))
        .then(pl.col("start"))
        .otherwise(pl.lit(None, dtype=pl.Date))
        .alias("coverage_start"),
        pl.when(rc.is_in(["reversal", "reversal_unmatched"]))
        .then(pl.col("reverses"))
        .otherwise(pl.lit(""))
        .alias("reverses"),
    )
    frame = lf.select(
        "row",
        "settlement_id",
        "status",
        "reason_code",
        "reason",
        "member",
        "coverage_start",
        "reverses",
        "base_fen",
        "discharge",
        "diagnosis_code",
        "mkey",
    ).collect(engine="in-memory")

    # --- the ledger over covered stays, in (member, discharge, settlement id) order ---
    n = frame.height
    positions = frame.select(pl.arg_where(pl.col("reason_code") == "")).to_series()
    covered = frame.select("mkey", "discharge", "settlement_id", "base_fen").gather(positions)
    order = covered.select(pl.arg_sort_by(["mkey", "discharge", "settlement_id"])).to_series()
    ledger = covered.select("mkey", "base_fen").gather(order).lazy()
    b, key = pl.col("base_fen"), pl.col("mkey")
    d = inpatient.deductible_fen
    if inpatient.deductible_per_stay:
        ledger = ledger.with_columns(pl.min_horizontal(b, pl.lit(d)).alias("deductible_fen"))
        ledger = ledger.with_columns((b - pl.col("deductible_fen")).alias("excess_fen"))
        ledger = ledger.with_columns(_group_start(key, pl.col("excess_fen")).alias("__hi"))
        ledger = ledger.with_columns((pl.col("__hi") - pl.col("excess_fen")).alias("__lo"))
    else:
        ledger = ledger.with_columns(_group_start(key, b).alias("__s"))
        s_now, s_prev = pl.col("__s"), pl.col("__s") - b
        ledger = ledger.with_columns(
            (pl.min_horizontal(s_now, pl.lit(d)) - pl.min_horizontal(s_prev, pl.lit(d))).alias(
                "deductible_fen"
            ),
            pl.max_horizontal(s_prev - d, pl.lit(0)).alias("__lo"),
            pl.max_horizontal(s_now - d, pl.lit(0)).alias("__hi"),
        )
        ledger = ledger.with_columns((b - pl.col("deductible_fen")).alias("excess_fen"))
    lo, hi = pl.col("__lo"), pl.col("__hi")
    band_cols = []
    for i, (lower, upper, _ratio) in enumerate(bands):
        top = hi if upper is None else pl.min_horizontal(hi, pl.lit(upper))
        part = pl.max_horizontal(top - pl.max_horizontal(lo, pl.lit(lower)), pl.lit(0))
        band_cols.append(part.alias(f"band_{i}_base_fen"))
    ledger = ledger.with_columns(band_cols)
    numer = pl.lit(0, dtype=pl.Int64)
    for i, (_, _, ratio) in enumerate(bands):
        numer = numer + pl.col(f"band_{i}_base_fen") * ratio
    ledger = ledger.with_columns(
        *[
            ((pl.col(f"band_{i}_base_fen") * ratio * 2 + 10_000) // 20_000).alias(
                f"band_{i}_amount_fen"
            )
            for i, (_, _, ratio) in enumerate(bands)
        ],
        ((numer * 2 + 10_000) // 20_000).alias("before_cap_fen"),
    )
    before = pl.col("before_cap_fen")
    cap = inpatient.cap_fen
    if cap is None:
        ledger = ledger.with_columns(before.alias("amount_fen"))
    else:
        ledger = ledger.with_columns(_group_start(key, before).alias("__p"))
        ledger = ledger.with_columns(
            (
                pl.min_horizontal(pl.col("__p"), pl.lit(cap))
                - pl.min_horizontal(pl.col("__p") - before, pl.lit(cap))
            ).alias("amount_fen")
        )
    ledger = ledger.with_columns((before - pl.col("amount_fen")).alias("cap_cut_fen"))
    ledger_cols = [
        "deductible_fen",
        "excess_fen",
        *[f"band_{i}_{k}_fen" for i in range(len(bands)) for k in ("base", "amount")],
        "before_cap_fen",
        "cap_cut_fen",
        "amount_fen",
    ]
    ledger_df = ledger.select(ledger_cols).collect(engine="in-memory")

    # Scatter the ledger (in ledger order) back onto the input rows.
    where = positions.gather(order)
    scattered = []
    for c in ledger_cols:
        full = pl.zeros(n, dtype=pl.Int64, eager=True).alias(c)
        if len(where):
            full = full.scatter(where, ledger_df[c])
        scattered.append(full)
    columns = outcome_columns(plan)
    out = frame.with_columns(
        *scattered,
        pl.lit(inpatient.code).alias("benefit"),
        pl.when(pl.col("reason_code") == "").then(pl.col("base_fen")).alias("base_fen"),
    ).select(columns)

    # --- lump sums: the first matching covered stay of each member-year gets it ---
    # Diagnosis codes repeat a lot: match each distinct code once, with the row
    # engine's own matcher; then walk the covered stays in ledger order.
    codes = frame["diagnosis_code"].unique().to_list()
    sex_male = (pl.col("mkey") // 11) % 2 == 1
    lumps = []
    for rank, benefit in enumerate(plan.benefits):
        if benefit.kind != "lump_sum":
            continue
        hit_codes = [c for c in codes if diagnosis_matches(benefit.diagnoses, c)]
        match = pl.col("diagnosis_code").is_in(hit_codes)
        if benefit.sex is not None:
            match = match & (sex_male if benefit.sex == "male" else ~sex_male)
        flags = frame.select(match.alias("m"), "mkey").gather(where)
        picked = flags.with_columns(pl.Series("pos", where)).filter(pl.col("m"))
        picked = picked.filter(pl.col("mkey").is_first_distinct())["pos"]
        if len(picked) == 0:
            continue
        hits = frame.select("row", "settlement_id", "member", "coverage_start").gather(picked)
        lumps.append(
            hits.select(
                "row",
                "settlement_id",
                pl.lit(benefit.code).alias("benefit"),
                pl.lit(S.COVERED.value).alias("status"),
                pl.lit(benefit.lump_sum_fen, dtype=pl.Int64).alias("amount_fen"),
                *[pl.lit(0, dtype=pl.Int64).alias(c) for c in ledger_cols if c != "amount_fen"],
                pl.lit(None, dtype=pl.Int64).alias("base_fen"),
                pl.lit("").alias("reason_code"),
                pl.lit("").alias("reason"),
                "member",
                "coverage_start",
                pl.lit("").alias("reverses"),
                pl.lit(rank, dtype=pl.Int64).alias("__order"),
            )
        )
    if not lumps:
        return out
    # Lump sums follow all inpatient rows, by input row then plan order (the row
    # engine does the same), so the first rows line up one-to-one with the input.
    extra = pl.concat(lumps, how="vertical_relaxed").sort(["row", "__order"])
    return pl.concat([out, extra.select(out.columns)], how="vertical_relaxed")


def outcomes_from_frame(frame: pl.DataFrame, plan: Plan) -> list[Outcome]:
    """The bulk result as Outcome objects (for comparison with the row engine)."""
    bands = plan.inpatient.bands()
    out = []
    for r in frame.iter_rows(named=True):
        covered_inpatient = r["status"] == "covered" and r["benefit"] == plan.inpatient.code
        out.append(
            Outcome(
                row=r["row"],
                settlement_id=r["settlement_id"],
                benefit=r["benefit"],
                status=OutcomeStatus(r["status"]),
                amount_fen=r["amount_fen"],
                deductible_fen=r["deductible_fen"],
                base_fen=r["base_fen"] if covered_inpatient else None,
                excess_fen=r["excess_fen"],
                bands=tuple(
                    BandPart(
                        i, lower, upper, ratio, r[f"band_{i}_base_fen"], r[f"band_{i}_amount_fen"]
                    )
                    for i, (lower, upper, ratio) in enumerate(bands)
                )
                if covered_inpatient
                else (),
                before_cap_fen=r["before_cap_fen"],
                cap_cut_fen=r["cap_cut_fen"],
                reason_code=r["reason_code"],
                reason=r["reason"],
                member=r["member"] or "",
                coverage_start=r["coverage_start"],
                reverses=r["reverses"],
            )
        )
    return out
