"""The bulk engine: the row engine's outcomes computed over polars columns.

Same inputs (a `records_frame`, a coverage frame) and the same outcomes, to the fen and
to the reason text, as `engine.adjudicate_records`; a hypothesis property test holds
the two equal. All money is Int64 fen; the only division is the half-up rounding.
Limits: amounts below 10^12 yuan (amounts.AMOUNT_LIMIT_FEN) keep every product in int64.

Where the speed comes from (1M rows): one lazy pass reads the columns, checks the ID
numbers (integer arithmetic; canonical numbers skip the normalising steps) and joins the
coverage on an integer member key; settlement ids are hashed to find repeats (a hash
match is checked against the text, so a collision cannot make a false duplicate); each
row's outcome is a small integer code whose status and reason texts are looked up in a
table; the ledger is one integer sort and running sums, scattered back by position.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import polars as pl

from huzhu.members.idnumbers import ID_ERROR_MESSAGES, with_id_number_check

from ..schema import Plan, diagnosis_matches
from .amounts import AMOUNT_ERROR_MESSAGES, iso_date_expr
from .outcomes import BandPart, Outcome, OutcomeStatus, outcome_columns, reason_message
from .records import ColumnPlan

__all__ = ["adjudicate_frame", "outcomes_from_frame", "outcome_columns"]

S = OutcomeStatus
MEMBER_KEY = "member_key"


# --- outcome codes: one small integer per row, texts looked up in a table ----------------

# Codes in precedence order after the head (duplicate/reversal/reversed) codes. The
# ID-number codes come right after the missing settlement id; amount errors are appended
# per file (their text names the source column, which differs for derived amounts).
COVERED, DUPLICATE, REVERSAL, UNMATCHED, REVERSED, MISSING_SID = 0, 1, 2, 3, 4, 5
_ID_CODES = list(ID_ERROR_MESSAGES)
ID_BASE = 6
ADMIT, DISCHARGE, BEFORE_ADMISSION = (ID_BASE + len(_ID_CODES) + i for i in range(3))
OUT_OF_PERIOD, NOT_ENROLLED, WAITING = (
    BEFORE_ADMISSION + 1,
    BEFORE_ADMISSION + 2,
    BEFORE_ADMISSION + 3,
)
AMOUNT_BASE = WAITING + 1


def _code_table(sources: ColumnPlan) -> list[tuple[str, str, str]]:
    """(status, reason_code, reason) of every fixed code, indexed by code."""
    src = sources.source

    def invalid(key: str, field: str) -> tuple[str, str, str]:
        return (S.INVALID.value, key, reason_message(key, src(field)))

    def plain(status: OutcomeStatus, key: str) -> tuple[str, str, str]:
        return (status.value, key, reason_message(key))

    table = [
        (S.COVERED.value, "", ""),
        plain(S.DUPLICATE, "duplicate"),
        plain(S.REVERSAL, "reversal"),
        plain(S.REVERSAL, "reversal_unmatched"),
        plain(S.REVERSED, "reversed"),
        invalid("invalid.missing_settlement_id", "settlement_id"),
        *[invalid(f"invalid.id_number.{c}", "id_number") for c in _ID_CODES],
        invalid("invalid.admit_date", "admit_date"),
        invalid("invalid.discharge_date", "discharge_date"),
        invalid("invalid.discharge_before_admission", "discharge_date"),
        plain(S.OUT_OF_PERIOD, "out_of_period"),
        plain(S.NOT_ENROLLED, "not_enrolled"),
        plain(S.WAITING_PERIOD, "waiting_period"),
    ]
    assert len(table) == AMOUNT_BASE
    return table


# --- exact helpers over hashed text --------------------------------------------------------


def _repeated(text: pl.Series, hashed: pl.Series) -> pl.Series:
    """True where the (non-empty) text already appeared on an earlier row (`hashed`:
    text.hash())."""
    n = len(text)
    # Hash values seen more than once, found by sorting (half the time of a hash set of
    # a million values here).
    ranked = hashed.sort()
    repeats = ranked.filter(ranked == ranked.shift(1))
    if repeats.is_empty():
        return pl.repeat(False, n, eager=True)
    # Rows sharing a hash with a repeat: decide those few on the text itself.
    suspects = hashed.is_in(repeats.implode())
    where = suspects.arg_true()
    exact = ~text.gather(where).is_first_distinct()
    return pl.repeat(False, n, eager=True).scatter(where, exact) & (text.str.len_bytes() > 0)


def _group_start(key: pl.Expr, value: pl.Expr) -> pl.Expr:
    """Running sum of `value` within runs of equal `key` (frame sorted by key)."""
    total = value.cum_sum()
    offset = pl.when(key != key.shift(1)).then(total - value)
    offset = pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(0, dtype=pl.Int64)).otherwise(offset)
    return total - offset.forward_fill()


def _ledger_order(key: pl.Series, settlement_id: pl.Series, rows: pl.Series) -> pl.Series:
    """Positions of `key` sorted by key, then by settlement id (that of key[i] being
    settlement_id[rows[i]]). One integer sort; only rows whose key ties with a neighbour
    (same member, same discharge day) are sorted again by their settlement ids as text.
    """
    order = key.arg_sort()
    ranked = key.gather(order)
    tied = (ranked == ranked.shift(1)) | (ranked == ranked.shift(-1))
    where = tied.fill_null(False).arg_true()
    if len(where) == 0:
        return order
    sub = order.gather(where)
    resorted = pl.DataFrame({"key": key.gather(sub), "sid": settlement_id.gather(rows.gather(sub))})
    sub = sub.gather(resorted.select(pl.arg_sort_by(["key", "sid"])).to_series())
    return order.scatter(where, sub)


def _running_before(inpatient, member: pl.Expr, base: pl.Expr) -> pl.Expr:
    """In ledger order: the member's base (deductible per year) or excess (per stay)
    of the stays before this one."""
    if inpatient.deductible_per_stay:
        excess = base - pl.min_horizontal(base, pl.lit(inpatient.deductible_fen))
        return _group_start(member, excess) - excess
    return _group_start(member, base) - base


def _with_stay_amounts(frame: pl.LazyFrame, inpatient, *, amounts: bool = False) -> pl.LazyFrame:
    """A stay's numbers (domain.md 1-5) from its base `__b` and `__prev` (_running_before).
    Adds deductible_fen, excess_fen, band_<i>_base_fen, band_<i>_amount_fen and
    before_cap_fen; with `amounts`, also amount_fen and cap_cut_fen (under a cap, from
    `__paid`: the amount paid before the stay in the year)."""
    b, prev, d = pl.col("__b"), pl.col("__prev"), pl.lit(inpatient.deductible_fen)
    if inpatient.deductible_per_stay:
        deductible = pl.min_horizontal(b, d)
        frame = frame.with_columns(deductible.alias("deductible_fen"))
        frame = frame.with_columns((b - pl.col("deductible_fen")).alias("excess_fen"))
        frame = frame.with_columns(prev.alias("__lo"), (prev + pl.col("excess_fen")).alias("__hi"))
    else:
        now = prev + b
        frame = frame.with_columns(
            (pl.min_horizontal(now, d) - pl.min_horizontal(prev, d)).alias("deductible_fen"),
            pl.max_horizontal(prev - d, pl.lit(0)).alias("__lo"),
            pl.max_horizontal(now - d, pl.lit(0)).alias("__hi"),
        )
        frame = frame.with_columns((b - pl.col("deductible_fen")).alias("excess_fen"))
    lo, hi = pl.col("__lo"), pl.col("__hi")
    bands = inpatient.bands()
    parts = []
    for i, (lower, upper, _ratio) in enumerate(bands):
        top = hi if upper is None else pl.min_horizontal(hi, pl.lit(upper))
        part = pl.max_horizontal(top - pl.max_horizontal(lo, pl.lit(lower)), pl.lit(0))
        parts.append(part.alias(f"band_{i}_base_fen"))
    frame = frame.with_columns(parts)
    numer = pl.lit(0, dtype=pl.Int64)
    for i, (_, _, ratio) in enumerate(bands):
        numer = numer + pl.col(f"band_{i}_base_fen") * ratio
    frame = frame.with_columns(
        *[
            ((pl.col(f"band_{i}_base_fen") * ratio * 2 + 10_000) // 20_000).alias(
                f"band_{i}_amount_fen"
            )
            for i, (_, _, ratio) in enumerate(bands)
        ],
        ((numer * 2 + 10_000) // 20_000).alias("before_cap_fen"),
    )
    if not amounts:
        return frame
    before, cap = pl.col("before_cap_fen"), inpatient.cap_fen
    if cap is None:
        frame = frame.with_columns(before.alias("amount_fen"))
    else:
        paid_before = pl.col("__paid")
        frame = frame.with_columns(
            (
                pl.min_horizontal(paid_before + before, pl.lit(cap))
                - pl.min_horizontal(paid_before, pl.lit(cap))
            ).alias("amount_fen")
        )
    return frame.with_columns((before - pl.col("amount_fen")).alias("cap_cut_fen"))


def adjudicate_frame(
    plan: Plan,
    records: pl.LazyFrame | pl.DataFrame,
    coverage: pl.LazyFrame | pl.DataFrame,
    sources: ColumnPlan,
    *,
    member_key: bool = False,
) -> pl.DataFrame:
    """Outcomes of every record (`records_frame` output): one inpatient row per record in
    input order, then the lump sums paid, by input row and plan order. `coverage`: columns
    member (normalised ID), enrolled_on (Date), renewal (Boolean), one row per member
    enrolled in the year; with a `member_key` column (coverage_from_enrollments) its
    numbers are taken as checked and keyed.

    Columns: see `outcome_columns(plan)`; with `member_key`, also `member_key` (Int64,
    equal for rows of the same member, null for rows without a valid member).
    """
    inpatient = plan.inpatient
    base = inpatient.base
    period = plan.period
    # Coverage by integer member key; its row number is a dense member id for the ledger.
    if MEMBER_KEY in coverage.collect_schema().names():
        # coverage_from_enrollments: valid normalised numbers, keyed already.
        cov = coverage.lazy().select(pl.col(MEMBER_KEY).alias("mkey"), "enrolled_on", "renewal")
    else:
        cov = with_id_number_check(
            coverage.lazy().select("member", "enrolled_on", "renewal"),
            "member",
            out="__norm",
            code="__err",
            key="mkey",
        )
        cov = cov.filter(pl.col("__err").is_null() & (pl.col("__norm") == pl.col("member")))
    cov = (
        cov.select(
            "mkey",
            "renewal",
            pl.when(pl.col("renewal"))
            .then(pl.lit(period.start))
            .otherwise(pl.col("enrolled_on") + pl.duration(days=plan.waiting_period_days))
            .alias("start"),
        )
        .with_row_index("mrank")
        .collect(engine="in-memory")
    )
    rf = with_id_number_check(
        records.lazy().select(
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
        ),
        "id_number",
        out="member",
        code="id_err",
        key="mkey",
    )
    # A narrow lookup, not a join: the wide frame is never reordered or copied.
    rf = rf.with_columns(
        pl.col("mkey")
        .replace_strict(cov.get_column("mkey"), cov.get_column("mrank"), default=None)
        .alias("mrank")
    )
    mrank = pl.col("mrank")
    rf = (
        rf.with_columns(
            pl.lit(cov.get_column("renewal")).gather(mrank).alias("renewal"),
            pl.lit(cov.get_column("start")).gather(mrank).alias("start"),
            iso_date_expr(pl.col("admit_date"), trimmed=True).alias("admit"),
            iso_date_expr(pl.col("discharge_date"), trimmed=True).alias("discharge"),
            # What the outcome shows: the normalised number, or the text when it is invalid.
            pl.when(pl.col("id_err").is_null())
            .then(pl.col("member"))
            .otherwise(pl.col("id_number"))
            .alias("member"),
            pl.col("id_err")
            .replace_strict(_ID_CODES, list(range(ID_BASE, ID_BASE + len(_ID_CODES))), default=0)
            .cast(pl.UInt8)
            .alias("id_code"),
            pl.col("settlement_id").hash().alias("__sid_hash"),
        )
        .drop("admit_date", "discharge_date", "id_err")
        .collect(engine="in-memory")
        # In one piece: the CSV reader's ~100 chunks make every gather below (ledger
        # order, lump sums) 3-20 times slower; rechunking copies little (string views).
        .rechunk()
    )
    n = rf.height
    sid, sid_hash = rf.get_column("settlement_id"), rf.get_column("__sid_hash")
    dup = _repeated(sid, sid_hash)

    def rows_with_sid(values: pl.Series) -> pl.Series:
        """Positions of the rows whose settlement id is one of `values` (few): found by
        hash, then checked against the text."""
        maybe = sid_hash.is_in(values.hash().implode()).arg_true()
        return maybe.filter(sid.gather(maybe).is_in(values.implode()))

    # --- duplicate, reversal, reversed: decided on the few rows concerned -----------------
    head = pl.zeros(n, dtype=pl.UInt8, eager=True)
    rev_at = rf.get_column("is_reversal").arg_true()
    if len(rev_at):
        rev = rf.select("settlement_id", "reverses").gather(rev_at)
        named = rev.get_column("reverses")
        named = named.filter(named.str.len_bytes() > 0).unique()
        known = sid.gather(rows_with_sid(named)).unique() if len(named) else named
        matched = (
            (pl.col("reverses") != "")
            & (pl.col("reverses") != pl.col("settlement_id"))
            & pl.col("reverses").is_in(known.implode())
        )
        kinds = rev.select(pl.when(matched).then(REVERSAL).otherwise(UNMATCHED).cast(pl.UInt8))
        head = head.scatter(rev_at, kinds.to_series())
        live = rev.filter(~dup.gather(rev_at) & (pl.col("reverses") != ""))
        targets = live.get_column("reverses").unique()
        if len(targets):
            hit = rows_with_sid(targets)  # targets are not empty, nor are their ids
            hit = hit.filter(head.gather(hit) == 0)
            head = head.scatter(hit, REVERSED)
    dup_at = dup.arg_true()
    if len(dup_at):
        head = head.scatter(dup_at, DUPLICATE)

    # --- the outcome code of each row -------------------------------------------------------
    admit, discharge, base_fen = pl.col("admit"), pl.col("discharge"), pl.col("base_fen")
    amount_bad = pl.col("base_err").is_not_null() | (base_fen < 0)
    code = (
        pl.when(pl.col("head") > 0)
        .then(pl.col("head"))
        .when(pl.col("settlement_id").str.len_bytes() == 0)
        .then(MISSING_SID)
        .when(pl.col("id_code") > 0)
        .then(pl.col("id_code"))
        .when(admit.is_null())
        .then(ADMIT)
        .when(discharge.is_null())
        .then(DISCHARGE)
        .when(discharge < admit)
        .then(BEFORE_ADMISSION)
        .when(amount_bad)
        .then(AMOUNT_BASE)
        .when((discharge < period.start) | (discharge > period.end))
        .then(OUT_OF_PERIOD)
        .when(pl.col("mrank").is_null())
        .then(NOT_ENROLLED)
        .when(~pl.col("renewal") & (admit < pl.col("start")))
        .then(WAITING)
        .otherwise(COVERED)
        .cast(pl.UInt16)
    )
    codes = rf.with_columns(head=head).select(code.alias("code")).to_series()

    # Amount errors: their text names the column at fault; one code per (error, column).
    table = _code_table(sources)
    bad_at = (codes == AMOUNT_BASE).arg_true()
    if len(bad_at):
        bad = rf.select(
            pl.col("base_err").fill_null("negative").alias("err"), pl.col("base_src").alias("src")
        ).gather(bad_at)
        kinds = bad.unique(maintain_order=True).with_row_index("k")
        for err, src in kinds.select("err", "src").iter_rows():
            key = f"invalid.base.{err}"
            table.append((S.INVALID.value, key, f"{src}：金额{AMOUNT_ERROR_MESSAGES[err]}"))
        k = bad.join(kinds, on=["err", "src"], how="left", maintain_order="left")["k"]
        codes = codes.scatter(bad_at, (k + AMOUNT_BASE).cast(pl.UInt16))
    status_of = pl.Series([t[0] for t in table], dtype=pl.String)
    reason_code_of = pl.Series([t[1] for t in table], dtype=pl.String)
    reason_of = pl.Series([t[2] for t in table], dtype=pl.String)

    rf = rf.with_columns(codes)
    c = pl.col("code")
    frame = rf.select(
        "row",
        "settlement_id",
        pl.lit(inpatient.code).alias("benefit"),
        pl.lit(status_of).gather(c).alias("status"),
        "base_fen",
        pl.lit(reason_code_of).gather(c).alias("reason_code"),
        pl.lit(reason_of).gather(c).alias("reason"),
        pl.when((c == COVERED) | (c >= ID_BASE))
        .then(pl.col("member"))
        .otherwise(pl.lit(""))
        .alias("member"),
        pl.when((c == COVERED) | (c == WAITING)).then(pl.col("start")).alias("coverage_start"),
        pl.when((c == REVERSAL) | (c == UNMATCHED))
        .then(pl.col("reverses"))
        .otherwise(pl.lit(""))
        .alias("reverses"),
        pl.when((c == COVERED) | (c >= ADMIT)).then(pl.col("mkey")).alias(MEMBER_KEY),
        c,
    )

    # --- the ledger over covered stays, in (member, discharge, settlement id) order ---------
    # Only the running totals need the ledger order: what came before each stay (base or
    # excess, and the amount paid). They are put back in input order, where every other
    # number of the stay follows from them (other rows have base 0: all zeros).
    positions = (codes == COVERED).arg_true()
    span = (period.end - period.start).days + 1
    key = rf.select(
        pl.col("mrank").cast(pl.Int64) * span + (discharge - pl.lit(period.start)).dt.total_days()
    ).to_series()
    order = _ledger_order(key.gather(positions), sid, positions)
    where = positions.gather(order)
    m = pl.col("m")
    ledger = pl.DataFrame(
        {"m": rf.get_column("mrank").gather(where), "__b": rf.get_column("base_fen").gather(where)}
    ).lazy()
    ledger = ledger.with_columns(_running_before(inpatient, m, pl.col("__b")).alias("__prev"))
    running = ["__prev"]
    if inpatient.cap_fen is not None:
        ledger = _with_stay_amounts(ledger, inpatient)
        before = pl.col("before_cap_fen")
        ledger = ledger.with_columns((_group_start(m, before) - before).alias("__paid"))
        running.append("__paid")
    ledger_df = ledger.select(running).collect(engine="in-memory")
    scattered = [
        pl.zeros(n, dtype=pl.Int64, eager=True).alias(c).scatter(where, ledger_df.get_column(c))
        if len(where)
        else pl.zeros(n, dtype=pl.Int64, eager=True).alias(c)
        for c in running
    ]
    columns = outcome_columns(plan) + ([MEMBER_KEY] if member_key else [])
    covered = pl.col("code") == COVERED
    out = frame.lazy().with_columns(
        *scattered,
        pl.when(covered).then(pl.col("base_fen")).otherwise(0).alias("__b"),
        pl.when(covered).then(pl.col("base_fen")).alias("base_fen"),
    )
    out = _with_stay_amounts(out, inpatient, amounts=True).select(columns)
    # The lump sums are found in a second thread meanwhile (polars leaves the
    # interpreter lock while it works).
    with ThreadPoolExecutor(max_workers=1) as pool:
        lumps = pool.submit(_lump_sums, plan, rf, frame, where)
        out = out.collect(engine="in-memory")
        extra = lumps.result()
    if extra is None:
        return out
    # Lump sums follow all inpatient rows, by input row then plan order (the row
    # engine does the same), so the first rows line up one-to-one with the input.
    return pl.concat([out, extra.select(out.columns)], how="vertical_relaxed")


def _lump_sums(
    plan: Plan, rf: pl.DataFrame, frame: pl.DataFrame, where: pl.Series
) -> pl.DataFrame | None:
    """The lump sums paid: the first matching covered stay of each member-year gets it.

    Diagnosis codes repeat a lot: each distinct code is matched once, with the row
    engine's own matcher; then the covered stays are walked in ledger order (`where`:
    their positions; grouped by member, so a member's first match is where the member
    changes). Sorted by input row, then plan order; None when none is paid."""
    lump_benefits = [(rank, b) for rank, b in enumerate(plan.benefits) if b.kind == "lump_sum"]
    if not lump_benefits or len(where) == 0:
        return None
    # Only the covered stays, in ledger order, are looked at.
    diagnosis = rf.get_column("diagnosis_code").gather(where)
    codes_seen = diagnosis.unique().to_list()
    male = (rf.get_column("mkey").gather(where) // 11) % 2 == 1
    walk = pl.DataFrame({"m": rf.get_column("mrank").gather(where).cast(pl.Int64), "pos": where})
    zero_cols = [c for c in outcome_columns(plan)[4:] if c.endswith("_fen") and c != "base_fen"]
    lumps = []
    for rank, benefit in lump_benefits:
        hits = [c for c in codes_seen if diagnosis_matches(benefit.diagnoses, c)]
        if not hits:
            continue
        match = diagnosis.is_in(pl.Series(hits, dtype=pl.String).implode())
        if benefit.sex is not None:
            match = match & (male if benefit.sex == "male" else ~male)
        picked = walk.filter(match)
        picked = picked.filter(pl.col("m") != pl.col("m").shift(1).fill_null(-1))
        if picked.height == 0:
            continue
        hit_rows = frame.select(
            "row", "settlement_id", "member", "coverage_start", MEMBER_KEY
        ).gather(picked.get_column("pos"))
        lumps.append(
            hit_rows.select(
                "row",
                "settlement_id",
                pl.lit(benefit.code).alias("benefit"),
                pl.lit(S.COVERED.value).alias("status"),
                pl.lit(benefit.lump_sum_fen, dtype=pl.Int64).alias("amount_fen"),
                *[pl.lit(0, dtype=pl.Int64).alias(c) for c in zero_cols if c != "amount_fen"],
                pl.lit(None, dtype=pl.Int64).alias("base_fen"),
                pl.lit("").alias("reason_code"),
                pl.lit("").alias("reason"),
                "member",
                "coverage_start",
                pl.lit("").alias("reverses"),
                MEMBER_KEY,
                pl.lit(rank, dtype=pl.Int64).alias("__order"),
            )
        )
    if not lumps:
        return None
    return pl.concat(lumps, how="vertical_relaxed").sort(["row", "__order"])


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
