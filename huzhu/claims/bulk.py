"""Bulk writes of the claims core: an import's new claims, their events and notices, and
new member-year ledger rows, as polars frames written by COPY (PostgreSQL binary COPY,
SQLite executemany). The settlement import computes the frames and calls these; it writes no
claim table itself. Call inside `transaction.atomic()`.
"""

from __future__ import annotations

import io

import polars as pl
import psycopg
from django.db import IntegrityError, connection, transaction

from huzhu.core.framewrite import fill_defaults, frame_insert, reserve_ids

from . import texts
from .events import claim_bulk_audit, claim_transition_frame
from .models import (
    Claim,
    ClaimFiler,
    ClaimSource,
    ClaimStatus,
    ClaimTransition,
    MemberYearLedger,
    Notification,
    PayeeKind,
)

__all__ = ["DIGEST_KIND", "NOTICE_SEPARATOR", "claims_write_frame", "ledgers_insert_frame"]

NOTICE_SEPARATOR = "；\n"  # between the sentences of a member's digest
DIGEST_KIND = "claims_auto"  # a notice naming several auto-claims


def claims_write_frame(
    claims: pl.DataFrame, plans, versions, now_db: str, *, batch: str = ""
) -> dict:
    """Write an import's new auto-claims (one row each in `claims`, numbered), their creation
    steps (`events.claim_transition_frame`: the timeline row every channel writes) and one
    notice per member, all by COPY (PostgreSQL) or executemany (SQLite), inside the
    caller's transaction. `plans[i]` has `.plan`, `.scheme_year`, `.version_id`; `versions[i]`
    its version number. Returns counts and the (first, last) notification ids."""
    out = {
        "created": 0,
        "approved": 0,
        "for_review": 0,
        "approved_fen": 0,
        "notifications": None,
    }
    if not claims.height:
        return out
    # Ids in the rows' order, member by member (see _number_claims), unless reserved aside.
    if "id" not in claims.columns:
        ids = reserve_ids(Claim, claims.height)
        claims = claims.with_columns(pl.Series("id", ids, dtype=pl.Int64))
    version_of = {lp.scheme_year.pk: versions[i] for i, lp in enumerate(plans)}
    version_ids = {lp.scheme_year.pk: lp.version_id for lp in plans}
    approved = pl.col("status") == ClaimStatus.APPROVED.value
    # The compact breakdown per (plan, benefit); no explanation is stored (texts.py).
    text_exprs: dict[tuple[int, str], pl.Expr] = {}
    for i, lp in enumerate(plans):
        plan = lp.plan
        text_exprs[(i, plan.inpatient.code)] = texts.compact_breakdown_expr(plan)
        for benefit in plan.lump_sums:
            text_exprs[(i, benefit.code)] = texts.compact_breakdown_expr(None)

    def claim_rows(chunk: pl.DataFrame) -> pl.DataFrame:
        breakdown = None
        for (i, code), expr in text_exprs.items():
            hit = (pl.col("plan_idx") == i) & (pl.col("benefit_code") == code)
            breakdown = (pl.when(hit) if breakdown is None else breakdown.when(hit)).then(expr)
        chunk = chunk.with_columns(breakdown.alias("breakdown"), pl.lit("").alias("explanation"))
        rows = chunk.select(
            "id",
            "number",
            "member_id",
            "scheme_year_id",
            "enrollment_id",
            "union_id",
            "benefit_code",
            "benefit_name",
            pl.lit(ClaimSource.AUTO.value).alias("source"),
            pl.lit(ClaimFiler.PLATFORM.value).alias("filer"),
            pl.lit(PayeeKind.MEMBER.value).alias("payee_kind"),
            "hospital_code",
            "settlement_id",
            "hospital_name",
            "admit_date",
            "discharge_date",
            "total_cost_fen",
            "fund_paid_fen",
            "self_pay_in_policy_fen",
            "self_pay_out_policy_fen",
            "diagnosis_code",
            "amount_fen",
            "breakdown",
            "explanation",
            pl.col("scheme_year_id")
            .replace_strict(version_of, return_dtype=pl.Int64)
            .alias("plan_version_number"),
            pl.col("scheme_year_id")
            .replace_strict(version_ids, return_dtype=pl.Int64)
            .alias("plan_version_id"),
            "status",
            pl.lit(now_db).alias("status_changed_at"),
            "status_reason",
            "review_reason",
            pl.lit(False).alias("is_fixed"),
            pl.lit(now_db).alias("created_at"),
            pl.lit(now_db).alias("updated_at"),
            pl.when(~approved).then(pl.lit(now_db)).alias("submitted_at"),
            pl.when(approved).then(pl.lit(now_db)).alias("approved_at"),
        )
        return fill_defaults(Claim, rows, now_db)

    # The member's notice: one sentence per auto-claim (issue 4's wording), one stored
    # notification per member per import, so a member whose stay also paid a lump sum, or
    # who had several stays in the file, gets one message naming each claim. A notice about
    # a single claim links it; a digest links none. Worked out by polars in the background
    # while the claims stream to the database.
    pending_notes = (
        claims.lazy()
        .select(  # in id order already (ids were reserved in frame order)
            "member_id",
            "id",
            "status",
            "hospital",
            "admit",
            "discharge",
            "benefit_name",
            "amount_fen",
            "excess_fen",
            "cap_cut_fen",
        )
        .with_columns(
            (pl.col("status") != ClaimStatus.APPROVED.value).alias("for_review"),
            texts.zero_reason_expr().alias("zero_reason"),
        )
        .select(
            "member_id",
            "id",
            "status",
            texts.notice_expr().alias("text"),
        )
        .group_by("member_id", maintain_order=True)
        .agg(
            pl.col("id").first().alias("claim_id"),
            pl.col("status").first(),
            pl.len().alias("claims"),
            pl.col("text").str.join(NOTICE_SEPARATOR),
        )
        .collect(background=True)
    )
    try:
        frame_insert(Claim, claims, transform=claim_rows)
        frame_insert(
            ClaimTransition,
            claim_transition_frame(claims.select("id", "status", "status_reason"), at_db=now_db),
        )
    except BaseException:
        pending_notes.cancel()
        raise
    claim_bulk_audit(
        source=ClaimSource.AUTO.value,
        batch=batch,
        first_id=int(claims["id"].min()),
        last_id=int(claims["id"].max()),
        count=claims.height,
    )
    notes = pending_notes.fetch_blocking()
    note_ids = reserve_ids(Notification, notes.height)
    notes = notes.select(
        pl.Series("id", note_ids, dtype=pl.Int64),
        "member_id",
        pl.when(pl.col("claims") == 1).then(pl.col("claim_id")).alias("claim_id"),
        pl.when(pl.col("claims") == 1)
        .then(pl.lit("claim_") + pl.col("status"))
        .otherwise(pl.lit(DIGEST_KIND))
        .alias("kind"),
        "text",
        pl.lit(now_db).alias("created_at"),
    )
    frame_insert(Notification, fill_defaults(Notification, notes, now_db))
    n_approved = int(claims.filter(approved).height)
    out.update(
        created=claims.height,
        approved=n_approved,
        for_review=claims.height - n_approved,
        approved_fen=int(claims.filter(approved)["amount_fen"].sum() or 0),
        notifications=(min(note_ids), max(note_ids)),
    )
    return out


def ledgers_insert_frame(ledgers: pl.DataFrame, *, now_db: str) -> set[tuple[int, int]]:
    """Insert the ledger rows of new member-years; returns the member-years that somebody
    else created meanwhile (PostgreSQL: ON CONFLICT DO NOTHING, so those are left alone)."""
    if not ledgers.height:
        return set()
    rows = fill_defaults(
        MemberYearLedger,
        ledgers.select(
            "member_id",
            "scheme_year_id",
            "deductible_used_fen",
            "cumulative_excess_fen",
            "paid_toward_cap_fen",
            "lump_sums",
            pl.lit(1, dtype=pl.Int64).alias("version"),
        ),
        now_db,
    ).sort(["scheme_year_id", "member_id"])
    if connection.vendor != "postgresql":
        frame_insert(MemberYearLedger, rows)  # the IMMEDIATE transaction serialises writers
        return set()
    # Usually nobody created one of these member-years since the import looked: a plain COPY
    # (in a savepoint) costs about a third of `INSERT … ON CONFLICT`'s speculative inserts.
    # When somebody did (a cashier's one-stop settle), the COPY fails on the unique index,
    # the savepoint undoes it, and the rows go in again through ON CONFLICT DO NOTHING,
    # which leaves those member-years alone and names them.
    try:
        with transaction.atomic():
            frame_insert(MemberYearLedger, rows)
        return set()
    except (IntegrityError, psycopg.errors.UniqueViolation):
        pass
    qn = connection.ops.quote_name
    table = qn(MemberYearLedger._meta.db_table)
    cols = [MemberYearLedger._meta.get_field(c).column for c in rows.columns]
    names = ", ".join(qn(c) for c in cols)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE huzhu_ledger_in AS SELECT {names} FROM {table} WITH NO DATA"
        )
        buf = io.BytesIO()
        rows.write_csv(buf, include_header=False, quote_style="necessary")
        with cursor.cursor.copy(
            f"COPY huzhu_ledger_in ({names}) FROM STDIN WITH (FORMAT csv)"
        ) as copy:
            copy.write(buf.getvalue())
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM huzhu_ledger_in "
            "ORDER BY scheme_year_id, member_id "
            "ON CONFLICT (member_id, scheme_year_id) DO NOTHING RETURNING member_id, scheme_year_id"
        )
        inserted = {(m, y) for m, y in cursor.fetchall()}
        cursor.execute("DROP TABLE huzhu_ledger_in")
    wanted = set(ledgers.select("member_id", "scheme_year_id").iter_rows())
    return wanted - inserted
