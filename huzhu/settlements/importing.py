"""The settlement import (免申即享): a whole file → records, auto-claims, notifications.

One transaction per import (nothing is half-written); imports are serialised (PostgreSQL:
an advisory lock; SQLite: the IMMEDIATE transaction's write lock), so two imports of the same
file create each record and claim once. Steps:

1. read the file into polars columns (outside the transaction);
2. drop rows whose settlement id is already stored (duplicates: a re-import creates nothing),
   resolve reversals against stored records, run the bulk engine once per loaded plan;
3. bulk-write records, row problems, claims, notifications and ledger totals for member-years
   that had nothing yet (COPY on PostgreSQL);
4. member-years that already had claims (late stays, reversals of stored records, manual
   claims for the same stay) are recomputed row by row under their ledger lock
   (`recompute.py`): unfixed claims are updated, fixed ones get adjustment items.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import polars as pl
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from huzhu.claims.models import (
    LIVE_STATUSES,
    Claim,
    MemberYearLedger,
)
from huzhu.core.bulk import sqlite_cache
from huzhu.core.crypto import blind_index_many, field_keys
from huzhu.enrollment.models import Enrollment
from huzhu.enrollment.selectors import renewal_exists
from huzhu.members.idnumbers import with_id_number_check
from huzhu.plans.rules.bulk import adjudicate_frame
from huzhu.plans.rules.records import RecordsFormatError, column_plan

from .frames import (
    plan_index_expr,
    settlement_frame,
    text_problems,
)
from .models import BatchState, SettlementBatch, SettlementRecord
from .plans import LoadedPlan, loaded_plans
from .reading import SettlementInput

log = logging.getLogger(__name__)

__all__ = ["ImportRefused", "ImportResult", "SUMMARY_KEYS", "settlement_import"]

SUMMARY_KEYS = (
    "rows",
    "created",
    "approved",
    "for_review",
    "covered",
    "duplicates",
    "not_enrolled",
    "waiting_period",
    "out_of_period",
    "reversals",
    "reversed",
    "invalid",
    "approved_amount",
)
SYNTHETIC = "\x00pending-reversal:"  # ids of stand-in rows for stored pending reversals
SQLITE_IMPORT_CACHE_KIB = 768 * 1024

Progress = Callable[[int, int], None]


class ImportRefused(Exception):
    """The file as a whole cannot be imported (missing columns, no plan loaded)."""

    code = "refused"

    def __init__(self, message: str, code: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class ImportResult:
    batch: SettlementBatch
    summary: dict
    problems: list[dict] = field(default_factory=list)
    review: list[dict] = field(default_factory=list)  # records flagged for a reviewer


def _empty_summary(rows: int) -> dict:
    out = dict.fromkeys(SUMMARY_KEYS, 0)
    out["rows"] = rows
    out["approved_amount"] = "0.00"
    return out


# --- database reads --------------------------------------------------------------------------


def _existing_ids(ids: list[str]) -> set[str]:
    """Which of `ids` are stored already (the unique index, chunked)."""
    if not ids or not SettlementRecord.objects.exists():
        return set()
    table = connection.ops.quote_name(SettlementRecord._meta.db_table)
    found: set[str] = set()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for start in range(0, len(ids), 100_000):
                cursor.execute(
                    f"SELECT settlement_id FROM {table} WHERE settlement_id = ANY(%s)",
                    [ids[start : start + 100_000]],
                )
                found.update(r[0] for r in cursor.fetchall())
        else:
            import json

            for start in range(0, len(ids), 200_000):
                cursor.execute(
                    f"SELECT settlement_id FROM {table} WHERE settlement_id IN "
                    "(SELECT value FROM json_each(%s))",
                    [json.dumps(ids[start : start + 200_000])],
                )
                found.update(r[0] for r in cursor.fetchall())
    return found


def _coverage(lp: LoadedPlan) -> pl.DataFrame:
    """Enrolled members of the plan's year: member_hash (the ID number's blind index),
    enrolled_on, renewal, and the ids a claim needs. `_with_members` turns the index into the
    ID number for the members the file names."""
    year = lp.scheme_year
    return _rows_frame(
        Enrollment.objects.filter(scheme_year=year, withdrawn_at__isnull=True)
        .annotate(renewal=renewal_exists(year_ref=year.year))
        .values_list(
            "member__id_number_hash",
            "enrolled_on",
            "member_id",
            "id",
            "union_id",
            "member__name",
            "renewal",
        ),
        {
            "member_hash": pl.String,
            "enrolled_on": pl.Date,
            "member_id": pl.Int64,
            "enrollment_id": pl.Int64,
            "union_id": pl.Int64,
            "member_name": pl.String,
            "renewal": pl.Boolean,
        },
    )


def _file_id_index(engine_in: pl.DataFrame) -> pl.DataFrame:
    """The file's valid ID numbers (normalised as the engine does) with their blind index:
    columns member, member_hash (current key), then the same numbers under any old key
    still configured (a rotation under way). One keyed hash per distinct number, no query."""
    ids = (
        with_id_number_check(
            engine_in.lazy().select(pl.col("id_number").unique()),
            "id_number",
            out="member",
            code="__err",
        )
        .filter(pl.col("__err").is_null())
        .select(pl.col("member").unique())
        .collect()
        .get_column("member")
    )
    numbers = ids.to_list()
    return pl.concat(
        [
            pl.DataFrame(
                {
                    "member": ids,
                    "member_hash": pl.Series(
                        blind_index_many("id_number", numbers, field_key=key), dtype=pl.String
                    ),
                }
            )
            for key in field_keys()
        ]
    )


def _with_members(coverage: pl.DataFrame, id_index: pl.DataFrame) -> pl.DataFrame:
    """The coverage of the members the file names, with their ID number (`member`), as the
    engine and the writes join on it; members the file does not name are left out."""
    return coverage.join(id_index, on="member_hash", how="inner").drop("member_hash")


def _rows_frame(queryset, schema: dict) -> pl.DataFrame:
    """A `values_list` queryset's rows as a frame, through one raw query: two hundred thousand
    enrollments skip Django's per-row converters. (SQLite hands a computed boolean back as
    an integer.)"""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if connection.vendor == "postgresql":
        return pl.DataFrame(rows, schema=schema, orient="row")
    raw = {name: pl.Int64 if t == pl.Boolean else t for name, t in schema.items()}
    return pl.DataFrame(rows, schema=raw, orient="row").cast(schema)


def _members_with_history(lp: LoadedPlan, member_ids: list[int]) -> set[int]:
    """Members of the year whose member-year already has a ledger or a live claim."""
    if not member_ids:
        return set()
    year = lp.scheme_year
    found = set(
        MemberYearLedger.objects.filter(scheme_year=year).values_list("member_id", flat=True)
    )
    found |= set(
        Claim.objects.filter(scheme_year=year, status__in=LIVE_STATUSES)
        .values_list("member_id", flat=True)
        .distinct()
    )
    return found & set(member_ids)


def _lifetime_held(codes: list[str]) -> set[tuple[int, str]]:
    if not codes:
        return set()
    return set(
        Claim.objects.filter(benefit_code__in=codes, status__in=LIVE_STATUSES).values_list(
            "member_id", "benefit_code"
        )
    )


# --- reversals against stored records ---------------------------------------------------------


@dataclass
class _Reversals:
    db_targets: dict[str, str] = field(default_factory=dict)  # reversal sid -> stored target sid
    pending_matches: dict[str, str] = field(default_factory=dict)  # stored reversal -> new target


def _resolve_reversals(fresh: pl.DataFrame) -> tuple[pl.DataFrame, _Reversals]:
    """Match this file's reversals to stored records, and stored pending reversals to this
    file's records. Returns the engine input (with stand-in rows) and the matches."""
    out = _Reversals()
    revs = fresh.filter(pl.col("is_reversal"))
    # National refunds not matched inside the file: the stored original of the same visit
    # whose total they negate.
    loose = revs.filter((pl.col("reverses") == "") & (pl.col("visit_id") != ""))
    if loose.height:
        visits = loose["visit_id"].unique().to_list()
        stored = {}
        for sid, visit, total in (
            SettlementRecord.objects.filter(visit_id__in=visits, is_reversal=False)
            .exclude(visit_id="")  # lets PostgreSQL use the partial visit index
            .order_by("id")
            .values_list("settlement_id", "visit_id", "total_cost_fen")
        ):
            stored.setdefault((visit, total), sid)
        fills = {}
        for sid, visit, total in loose.select(
            "settlement_id", "visit_id", "total_cost_fen"
        ).iter_rows():
            target = stored.get((visit, -total if total is not None else None))
            if target:
                fills[sid] = target
        if fills:
            fresh = fresh.with_columns(
                pl.col("settlement_id")
                .replace_strict(fills, default=pl.col("reverses"))
                .alias("reverses")
            )
            revs = fresh.filter(pl.col("is_reversal"))
    named = revs.filter(pl.col("reverses") != "")
    targets = named.get_column("reverses").unique()
    outside = targets.filter(~targets.is_in(fresh.get_column("settlement_id").implode())).to_list()
    if outside:
        stored_ids = set(
            SettlementRecord.objects.filter(settlement_id__in=outside).values_list(
                "settlement_id", flat=True
            )
        )
        for sid, target in named.select("settlement_id", "reverses").iter_rows():
            if target in stored_ids:
                out.db_targets.setdefault(sid, target)
    # Stored reversals still waiting for their record.
    pending = list(
        SettlementRecord.objects.filter(reversal_pending=True).values_list(
            "settlement_id", "reverses", "visit_id", "total_cost_fen"
        )
    )
    if pending:
        originals = fresh.filter(~pl.col("is_reversal") & (pl.col("settlement_id") != ""))
        by_visit = {}
        for sid, visit, total in originals.select(
            "settlement_id", "visit_id", "total_cost_fen"
        ).iter_rows():
            if visit:
                by_visit.setdefault((visit, total), sid)
        ids = set(originals["settlement_id"].to_list())
        for rsid, target, visit, total in pending:
            if target and target in ids:
                out.pending_matches[rsid] = target
            elif not target and visit and total is not None:
                hit = by_visit.get((visit, -total))
                if hit:
                    out.pending_matches[rsid] = hit
    if out.pending_matches:
        stand_ins = pl.DataFrame(
            {
                "settlement_id": [SYNTHETIC + r for r in out.pending_matches],
                "reverses": list(out.pending_matches.values()),
            }
        ).with_columns(
            (-pl.int_range(1, pl.len() + 1)).cast(pl.Int64).alias("row"),
            pl.lit(True).alias("is_reversal"),
        )
        fresh = pl.concat([fresh, stand_ins], how="diagonal_relaxed")
        fresh = fresh.with_columns(
            [
                pl.col(c).fill_null("")
                for c, t in fresh.schema.items()
                if t == pl.String and not c.endswith(("_err", "_src"))
            ]
        )
    return fresh, out


# --- the engine, once per plan ----------------------------------------------------------------


def _adjudicate(
    engine_in: pl.DataFrame, plans: list[LoadedPlan], coverages: list[pl.DataFrame], columns
) -> pl.DataFrame:
    periods = [(lp.plan.period.start, lp.plan.period.end) for lp in plans]
    engine_in = engine_in.with_columns(plan_index_expr(periods))
    chosen = engine_in.select("row", "plan_idx")
    results = []
    for i, lp in enumerate(plans):
        cov = coverages[i].select("member", "enrolled_on", "renewal")
        outcome = adjudicate_frame(lp.plan, engine_in.lazy(), cov, columns)
        results.append(outcome.with_columns(pl.lit(i, dtype=pl.Int64).alias("out_plan")))
    out = pl.concat(results, how="diagonal_relaxed")
    out = out.join(chosen, on="row", how="left").filter(pl.col("out_plan") == pl.col("plan_idx"))
    return out.drop("out_plan").filter(pl.col("row") > 0)


# --- the import ---------------------------------------------------------------------------------


def settlement_import(
    source_input: SettlementInput,
    *,
    source: str = "bureau",
    channel: str = "command",
    acting_user=None,
    batch: SettlementBatch | None = None,
    plans: list[LoadedPlan] | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import one settlement file (or pushed batch). Raises ImportRefused when the input as a
    whole cannot be imported (the batch is then marked failed); bad rows are kept as problems
    and the rest is imported. See the module docstring for the steps."""
    total = source_input.frame.height
    now = timezone.now()
    if batch is None:
        batch = SettlementBatch.objects.create(
            file_name=source_input.file_name[:255],
            checksum=source_input.checksum,
            source=source,
            channel=channel,
            encoding=source_input.encoding,
            created_by=acting_user if getattr(acting_user, "is_authenticated", False) else None,
        )
    SettlementBatch.objects.filter(pk=batch.pk).update(
        state=BatchState.RUNNING,
        started_at=now,
        rows_total=total,
        rows_done=0,
        encoding=source_input.encoding,
    )
    report = progress or (lambda done, total: None)
    report(0, total)
    try:
        result = _run(source_input, batch, plans, report)
    except ImportRefused as exc:
        SettlementBatch.objects.filter(pk=batch.pk).update(
            state=BatchState.FAILED, error=exc.message, finished_at=timezone.now()
        )
        raise
    except Exception as exc:
        SettlementBatch.objects.filter(pk=batch.pk).update(
            state=BatchState.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            finished_at=timezone.now(),
        )
        raise
    report(total, total)
    return result


def _lock_imports() -> None:
    """Serialise imports, and on PostgreSQL skip the per-row foreign-key triggers when allowed.

    Every id the import writes (member, enrollment, union, scheme year, plan version, claim,
    batch) was read or created inside this very transaction, and none of those rows is ever
    deleted (PROTECT everywhere), so the foreign-key checks PostgreSQL would run at commit, one
    query per reference (seven per auto-claim), cannot fail; they cost more server time than
    the COPY itself. `session_replication_role = replica` (transaction-local) skips them; it
    needs a superuser or the role's explicit right, so without it the checks simply run.
    Unique and check constraints apply either way.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('huzhu.settlement_import'))")
        if getattr(settings, "HUZHU_IMPORT_SKIP_FK_TRIGGERS", True):
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            row = cursor.fetchone()
            if row and row[0]:
                cursor.execute("SET LOCAL session_replication_role = replica")


@contextmanager
def _write_cache():
    """SQLite: a page cache big enough for the indexes a million-row import updates (the
    default 2 MB makes every index insert go to the OS for its pages). A ceiling, filled only
    as pages are touched: a million-row import grew by ~110 MB more with 768 MB than with
    256 MB, and wrote its claims ~1.5 s faster (fewer index pages spilled to the WAL twice)."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor, sqlite_cache(cursor, kib=SQLITE_IMPORT_CACHE_KIB):
        yield


def _coverages(plans: list[LoadedPlan]) -> list[pl.DataFrame]:
    return [_coverage(lp) for lp in plans]


def _coverages_aside(plans: list[LoadedPlan]) -> list[pl.DataFrame]:
    """`_coverages`, on this thread's own connection (closed afterwards)."""
    try:
        return _coverages(plans)
    finally:
        connection.close()


def _run(source_input: SettlementInput, batch, plans, report: Progress) -> ImportResult:
    if plans is None:
        plans = loaded_plans()
    if not plans:
        raise ImportRefused(
            "尚未加载任何互助方案，无法判断结算记录是否可补助；请先用 huzhu plan-load 加载方案",
            "no_plan",
        )
    # The enrolled members of each plan's year do not depend on the file: a second thread
    # reads them, on its own connection, while this one parses the file (~0.5 s of a
    # million-row import). Not when the caller has a transaction open: its own writes
    # (enrollments of a test, say) are visible only through this connection.
    if connection.in_atomic_block:
        return _import(source_input, batch, plans, report, None)
    with ThreadPoolExecutor(max_workers=1) as aside:
        return _import(source_input, batch, plans, report, aside.submit(_coverages_aside, plans))


def _import(source_input, batch, plans, report: Progress, coverages_read) -> ImportResult:
    frame = source_input.frame
    total = frame.height
    bases = sorted({lp.plan.inpatient.base for lp in plans})
    try:
        columns = column_plan(frame.columns, need=bases)
    except RecordsFormatError as exc:
        raise ImportRefused(exc.message, exc.code) from None
    rec = settlement_frame(frame, columns)
    # The raw text columns are not needed any more: let a million-row file go.
    source_input.frame = frame = None
    bad_text = text_problems(rec, columns)
    report(total // 10, total)

    from .writing import write_import  # the writes, kept apart from the reads

    with transaction.atomic(), _write_cache():
        _lock_imports()
        summary = _empty_summary(total)
        bad_rows = bad_text["row"].to_list()
        # Rows refused for their text are left out here already: a NUL in a settlement id
        # would fail the duplicates query on PostgreSQL.
        sids = rec.filter((pl.col("settlement_id") != "") & ~pl.col("row").is_in(bad_rows))[
            "settlement_id"
        ].to_list()
        stored = _existing_ids(sids)
        db_dup = pl.col("settlement_id").is_in(list(stored)) if stored else pl.lit(False)
        rec = rec.with_columns(db_dup.alias("db_dup"))
        summary["duplicates"] += int(rec["db_dup"].sum())
        if stored or bad_rows:
            fresh = rec.filter(~pl.col("db_dup") & ~pl.col("row").is_in(bad_rows))
        else:
            fresh = rec  # nothing to drop: no copy of a million rows
        engine_in, reversals = _resolve_reversals(fresh)
        coverages = coverages_read.result() if coverages_read is not None else _coverages(plans)
        id_index = _file_id_index(engine_in)
        coverages = [_with_members(c, id_index) for c in coverages]
        report(total // 5, total)
        outcomes = _adjudicate(engine_in, plans, coverages, columns)
        del engine_in
        report(total * 2 // 5, total)
        frames = {"rec": fresh, "outcomes": outcomes}
        del rec, fresh, outcomes  # write_import drops them as soon as it can
        result = write_import(
            batch=batch,
            frames=frames,
            bad_text=bad_text,
            plans=plans,
            coverages=coverages,
            reversals=reversals,
            summary=summary,
            report=report,
            row_offset=source_input.first_row - 1,
            id_index=id_index.head(id_index.height // len(field_keys())),
        )
    return result
