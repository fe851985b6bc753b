"""The writes of one settlement import (inside its transaction; see importing.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import polars as pl
from django.db import connection, transaction
from django.utils import timezone

from huzhu.claims.bulk import claims_write_frame, ledgers_insert_frame
from huzhu.claims.models import (
    Claim,
    ClaimStatus,
)
from huzhu.claims.numbers import claim_serials_allocate, format_claim_number
from huzhu.core.crypto import blind_index_many, encrypt_text_many
from huzhu.core.framewrite import db_datetime, frame_insert, reserve_ids
from huzhu.core.masking import mask_id_number
from huzhu.core.money import fen_to_yuan
from huzhu.enrollment.consent import consent_withheld_member_ids
from huzhu.plans.rules.outcomes import REASON_MESSAGES

from .frames import printable, problem_field, review_reason_expr
from .models import BatchState, SettlementBatch, SettlementRecord, SettlementRowProblem
from .plans import LoadedPlan

__all__ = ["write_import"]

PROBLEM_LIST_LIMIT = 200
# Statuses of records refused as a whole (besides invalid ones) and the field they are about.
_REFUSED_FIELDS = {"not_enrolled": "id_number", "out_of_period": "discharge_date"}


def _nonneg(col: str) -> pl.Expr:
    return pl.when(pl.col(col) >= 0).then(pl.col(col)).otherwise(None).alias(col)


def write_import(
    *,
    batch: SettlementBatch,
    frames: dict,
    bad_text: pl.DataFrame,
    plans: list[LoadedPlan],
    coverages: list[pl.DataFrame],
    reversals,
    summary: dict,
    report,
    columns=None,
    row_offset: int = 0,
    id_index: pl.DataFrame | None = None,
):
    from .importing import ImportResult, _lifetime_held, _members_with_history
    from .recompute import recompute_member_years

    total = summary["rows"]
    now = timezone.now()
    now_db = db_datetime(now)
    # `frames` holds the only references to the big frames ("rec", "outcomes"): each is
    # dropped as soon as it has served, so a million-row import stays within memory.
    outcomes = frames.pop("outcomes")
    inpatient_code = {i: lp.plan.inpatient.code for i, lp in enumerate(plans)}
    outcomes = outcomes.with_columns(
        (pl.col("benefit") != pl.col("plan_idx").replace_strict(inpatient_code)).alias("is_lump")
    )
    # Reversals matched to stored records are reversals, not unmatched ones.
    if reversals.db_targets:
        matched = pl.col("settlement_id").is_in(list(reversals.db_targets)) & ~pl.col("is_lump")
        outcomes = outcomes.with_columns(
            pl.when(matched)
            .then(pl.lit("reversal"))
            .otherwise(pl.col("reason_code"))
            .alias("reason_code"),
            pl.when(matched)
            .then(pl.lit(REASON_MESSAGES["reversal"]))
            .otherwise(pl.col("reason"))
            .alias("reason"),
            pl.when(matched)
            .then(pl.col("settlement_id").replace_strict(reversals.db_targets, default=""))
            .otherwise(pl.col("reverses"))
            .alias("reverses"),
        )
    inp = outcomes.filter(~pl.col("is_lump"))
    lump_rows = outcomes.filter(pl.col("is_lump") & (pl.col("status") == "covered")).select(
        "row", "benefit", "amount_fen", "plan_idx"
    )
    del outcomes
    reversed_by = _reversed_by(inp, reversals)
    counts = dict(inp.group_by("status").len().iter_rows())
    for status in (
        "covered",
        "not_enrolled",
        "waiting_period",
        "out_of_period",
        "reversed",
        "invalid",
    ):
        summary[status] += int(counts.get(status, 0))
    summary["duplicates"] += int(counts.get("duplicate", 0))
    summary["reversals"] += int(counts.get("reversal", 0))
    summary["invalid"] += bad_text.height

    # --- row problems -------------------------------------------------------------------------
    base_of = {i: lp.plan.inpatient.base for i, lp in enumerate(plans)}
    # Rows refused as a whole: invalid ones, and records of people not enrolled in the year of
    # the discharge or discharged outside every plan's period (stored too, listed here so a
    # reviewer sees every refused row in one place). Row numbers as the file counts them.
    refused = inp.filter(pl.col("status").is_in(["invalid", *_REFUSED_FIELDS])).select(
        "row", "settlement_id", "status", "reason_code", "reason", "plan_idx"
    )
    problem_rows = [
        (
            row + row_offset,
            (sid or "")[:64],
            problem_field(code, base_of[idx]) if status == "invalid" else _REFUSED_FIELDS[status],
            (code.partition(".")[2] or code) if status == "invalid" else status,
            reason or REASON_MESSAGES.get(status, ""),
        )
        for row, sid, status, code, reason, idx in refused.iter_rows()
    ]
    problem_rows += [
        (row + row_offset, printable(sid or "")[:64], fld, code, reason)
        for row, sid, fld, code, reason in bad_text.iter_rows()
    ]
    problem_rows.sort()
    problems = pl.DataFrame(
        problem_rows,
        schema={
            "row_number": pl.Int64,
            "settlement_id": pl.String,
            "field": pl.String,
            "code": pl.String,
            "reason": pl.String,
        },
        orient="row",
    ).with_columns(pl.lit(batch.pk, dtype=pl.Int64).alias("batch_id"))
    frame_insert(SettlementRowProblem, problems)

    # --- who is who: coverage (member ids) per chosen plan ------------------------------------
    cov_all = pl.concat(
        [
            c.select(
                "member", "member_id", "enrollment_id", "union_id", "member_name"
            ).with_columns(pl.lit(i, dtype=pl.Int64).alias("plan_idx"))
            for i, c in enumerate(coverages)
        ]
    )
    year_ids = {i: lp.scheme_year.pk for i, lp in enumerate(plans)}
    versions = {i: lp.version for i, lp in enumerate(plans)}
    stored = inp.filter(~pl.col("status").is_in(["duplicate", "invalid"])).drop("benefit")
    del inp
    rec = frames.pop("rec").drop(
        "settlement_id",
        "reverses",
        "admit_date",
        "discharge_date",
        "is_reversal",
        "db_dup",
        strict=False,
    )
    stored = stored.join(rec, on="row", how="left").join(
        cov_all, on=["member", "plan_idx"], how="left"
    )
    del rec
    in_period = pl.col("status").is_in(["covered", "not_enrolled", "waiting_period"])
    # Members who refused or withdrew consent: their covered stays wait for a reviewer.
    withheld = consent_withheld_member_ids()
    stored = stored.with_columns(
        review_reason_expr(plans[0].plan.inpatient.base, withheld).alias("__review"),
    )
    # A base other than the first plan's: recompute the reasons per plan base.
    if len(set(base_of.values())) > 1:
        parts = []
        for i in base_of:
            part = stored.filter(pl.col("plan_idx") == i).with_columns(
                review_reason_expr(base_of[i], withheld).alias("__review")
            )
            parts.append(part)
        stored = pl.concat(parts).sort("row")

    # --- settlement records ----------------------------------------------------------------------
    record_exprs = [
        "settlement_id",
        pl.lit(batch.pk, dtype=pl.Int64).alias("batch_id"),
        (pl.col("row") + row_offset).alias("row_number"),
        # The ID number: its blind index, its masked form, and the ciphertext only when the
        # record has no member (a linked member holds the same number, matched by index).
        "id_number_hash",
        "id_number_masked",
        pl.when(pl.col("status").is_in(["covered", "waiting_period"]))
        .then(pl.lit(""))
        .otherwise(pl.col("id_number_encrypted"))
        .alias("id_number_encrypted"),
        pl.when(pl.col("status").is_in(["covered", "waiting_period"]))
        .then(pl.col("member_id"))
        .alias("member_id"),
        pl.when(in_period)
        .then(pl.col("plan_idx").replace_strict(year_ids, return_dtype=pl.Int64))
        .alias("scheme_year_id"),
        "name",
        "hospital",
        "hospital_code",
        "hospital_level",
        pl.col("admit").alias("admit_date"),
        pl.col("discharge").alias("discharge_date"),
        "total_cost_fen",
        "fund_paid_fen",
        "self_pay_in_policy_fen",
        "self_pay_out_policy_fen",
        "diagnosis_code",
        "out_of_area",
        "visit_id",
        pl.col("status").is_in(["reversal"]).alias("is_reversal"),
        pl.when(pl.col("status") == "reversal")
        .then(pl.col("reverses"))
        .otherwise(pl.lit(""))
        .alias("reverses"),
        pl.col("reversed_by").fill_null(""),
        (pl.col("reason_code") == "reversal_unmatched").alias("reversal_pending"),
        "status",
        "reason",
        pl.when(pl.col("reason_code") == "reversal_unmatched")
        .then(pl.col("reason"))
        .when(pl.col("status") == "covered")
        .then(pl.col("__review"))
        .otherwise(pl.lit(""))
        .alias("review_reason"),
        pl.when(in_period)
        .then(pl.col("plan_idx").replace_strict(versions, return_dtype=pl.Int64))
        .alias("plan_version_number"),
        pl.lit(now_db).alias("created_at"),
    ]
    records = _with_id_columns(stored.join(reversed_by, on="settlement_id", how="left"), id_index)

    flagged = (pl.col("reason_code") == "reversal_unmatched") | (
        (pl.col("status") == "covered") & (pl.col("__review") != "")
    )
    review = (
        stored.filter(flagged)
        .select(
            pl.col("row") + row_offset,
            "settlement_id",
            pl.when(pl.col("status") == "covered")
            .then(pl.col("__review"))
            .otherwise(pl.col("reason"))
            .alias("review_reason"),
        )
        .sort("row")
        .head(PROBLEM_LIST_LIMIT)
        .to_dicts()
    )

    # --- member-years: bulk (nothing before) or recompute (history) ---------------------------
    covered = stored.filter(pl.col("status") == "covered")
    del stored
    history_pairs: set[tuple[int, int]] = set()
    for i, lp in enumerate(plans):
        ids = covered.filter(pl.col("plan_idx") == i)["member_id"].unique().to_list()
        for m in _members_with_history(lp, ids):
            history_pairs.add((m, year_ids[i]))
    targets = _stored_targets(reversals)
    for t in targets:
        if t["member_id"] and t["scheme_year_id"]:
            history_pairs.add((t["member_id"], t["scheme_year_id"]))
    # Lump sums: the engine's first matching stay per member-year, unless a lifetime benefit
    # was already paid (any year).
    lifetime = sorted(
        {b.code for lp in plans for b in lp.plan.lump_sums if b.once_per == "lifetime"}
    )
    held = _lifetime_held(lifetime)

    # The records stream to the database while polars works out the bulk member-years'
    # claims in a second thread (see _prepare_claims).
    sequences_aside = connection.vendor == "postgresql"
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(
            _prepare_claims,
            covered,
            set(history_pairs),
            year_ids,
            lump_rows,
            held,
            plans,
            sequences_aside,
        )
        del covered, lump_rows
        frame_insert(SettlementRecord, records, transform=lambda chunk: chunk.select(record_exprs))
        del records
        history_rows, bulk, ledgers, claims = pending.result()
    report(total // 2, total)
    if not sequences_aside:
        claims = _number_claims(claims, plans)
    lump_json = (
        claims.filter(pl.col("is_lump"))
        .group_by(["member_id", "scheme_year_id"])
        .agg(
            pl.concat_str(
                [pl.lit('"'), pl.col("benefit_code"), pl.lit('":"'), pl.col("number"), pl.lit('"')]
            )
            .str.join(",")
            .alias("lump_sums")
        )
        .with_columns((pl.lit("{") + pl.col("lump_sums") + pl.lit("}")).alias("lump_sums"))
    )
    ledgers = ledgers.join(lump_json, on=["member_id", "scheme_year_id"], how="left").with_columns(
        pl.col("lump_sums").fill_null("{}")
    )
    conflicts = ledgers_insert_frame(ledgers, now_db=now_db)
    if conflicts:
        conflict_frame = _member_years(conflicts, "conflict")
        bulk = bulk.join(conflict_frame, on=["member_id", "scheme_year_id"], how="left")
        moved = bulk.filter(pl.col("conflict").is_not_null()).drop("conflict")
        bulk = bulk.filter(pl.col("conflict").is_null()).drop("conflict")
        claims = claims.join(conflict_frame, on=["member_id", "scheme_year_id"], how="anti")
        history_pairs |= conflicts
    else:
        moved = bulk.clear()
    del bulk
    created = claims_write_frame(claims, plans, versions, now_db, batch=f"结算导入批次{batch.pk}")
    report(total * 4 // 5, total)

    # --- stored records reversed now; stored reversals matched now -----------------------------
    for t in targets:
        SettlementRecord.objects.filter(settlement_id=t["settlement_id"]).update(
            status="reversed",
            reason=REASON_MESSAGES["reversed"],
            reversed_by=t["reversal"],
        )
    for rsid, target in reversals.pending_matches.items():
        SettlementRecord.objects.filter(settlement_id=rsid).update(
            reverses=target,
            reversal_pending=False,
            review_reason="",
            reason=REASON_MESSAGES["reversal"],
        )

    # --- member-years with history: row by row under their ledger locks ----------------------------
    work = _recompute_work(history_rows, moved, targets, plans, year_ids)
    extra = recompute_member_years(work, plans=plans, batch=batch) if work else None
    if extra:
        for key in ("created", "approved", "for_review"):
            created[key] += extra[key]
        created["approved_fen"] += extra["approved_fen"]

    summary["created"] = created["created"]
    summary["approved"] = created["approved"]
    summary["for_review"] = created["for_review"]
    summary["approved_amount"] = fen_to_yuan(created["approved_fen"])
    SettlementBatch.objects.filter(pk=batch.pk).update(
        state=BatchState.DONE,
        counts=summary,
        rows_done=total,
        finished_at=timezone.now(),
        error="",
    )
    batch.refresh_from_db()
    if created["notifications"]:
        lo, hi = created["notifications"]
        transaction.on_commit(lambda: _enqueue_delivery(lo, hi, now), robust=True)
    problem_list = [
        {"row": r[0], "settlement_id": r[1], "field": r[2], "code": r[3], "reason": r[4]}
        for r in problem_rows[:PROBLEM_LIST_LIMIT]
    ]
    return ImportResult(batch=batch, summary=summary, problems=problem_list, review=review)


def _claim_frame(part: pl.DataFrame, code: str, name: str) -> pl.DataFrame:
    review = pl.col("__review")
    return part.select(
        "row",
        "plan_idx",
        "member_id",
        "scheme_year_id",
        "enrollment_id",
        "union_id",
        "settlement_id",
        "amount_fen",
        pl.lit(code).alias("benefit_code"),
        pl.lit(name).alias("benefit_name"),
        pl.col("hospital_code"),
        pl.col("hospital").alias("hospital_name"),
        pl.col("admit").alias("admit_date"),
        pl.col("discharge").alias("discharge_date"),
        _nonneg("total_cost_fen"),
        _nonneg("fund_paid_fen"),
        _nonneg("self_pay_in_policy_fen"),
        _nonneg("self_pay_out_policy_fen"),
        "diagnosis_code",
        pl.when(review != "")
        .then(pl.lit(ClaimStatus.SUBMITTED.value))
        .otherwise(pl.lit(ClaimStatus.APPROVED.value))
        .alias("status"),
        review.alias("review_reason"),
        review.alias("status_reason"),
        "hospital",
        pl.col("admit"),
        pl.col("discharge"),
        "deductible_fen",
        "excess_fen",
        "before_cap_fen",
        "cap_cut_fen",
        *[c for c in part.columns if c.startswith("band_")],
        "base_fen",
    )


def _member_years(pairs, flag: str) -> pl.DataFrame:
    """(member_id, scheme_year_id) pairs as a frame with a true `flag` column, to join on."""
    return pl.DataFrame(
        list(pairs), schema={"member_id": pl.Int64, "scheme_year_id": pl.Int64}, orient="row"
    ).with_columns(pl.lit(True).alias(flag))


def _bulk_claims(covered, history_pairs, year_ids, lump_rows, held, plans):
    """The claims of the member-years that had nothing before this import (pure polars).

    Returns the covered stays of member-years with history (recomputed row by row later),
    the other covered stays, their ledger totals, and their claims (inpatient and lump sums)
    in writing order, not numbered yet."""
    covered = covered.with_columns(
        pl.col("plan_idx").replace_strict(year_ids, return_dtype=pl.Int64).alias("scheme_year_id")
    )
    if history_pairs:
        pair_frame = _member_years(history_pairs, "history")
        covered = covered.join(
            pair_frame, on=["member_id", "scheme_year_id"], how="left"
        ).with_columns(pl.col("history").fill_null(False))
        history_rows = covered.filter(pl.col("history"))
        bulk = covered.filter(~pl.col("history"))
    else:
        history_rows = covered.clear().with_columns(pl.lit(False).alias("history"))
        bulk = covered.with_columns(pl.lit(False).alias("history"))
    del covered

    # Ledger rows first: a member-year somebody else created meanwhile goes to the recompute.
    ledgers = bulk.group_by(["member_id", "scheme_year_id"]).agg(
        pl.col("deductible_fen").sum().alias("deductible_used_fen"),
        pl.col("excess_fen").sum().alias("cumulative_excess_fen"),
        pl.col("amount_fen").sum().alias("paid_toward_cap_fen"),
    )
    lumps = lump_rows.join(
        bulk.select("row", "member_id", "scheme_year_id", "enrollment_id", "union_id"),
        on="row",
        how="inner",
    )
    if held:
        held_frame = pl.DataFrame(
            list(held), schema={"member_id": pl.Int64, "benefit": pl.String}, orient="row"
        ).with_columns(pl.lit(True).alias("held"))
        lumps = (
            lumps.join(held_frame, on=["member_id", "benefit"], how="left")
            .filter(pl.col("held").is_null())
            .drop("held")
        )

    claim_frames = []
    for i, lp in enumerate(plans):
        plan = lp.plan
        part = bulk.filter(pl.col("plan_idx") == i)
        if part.height:
            claim_frames.append(
                _claim_frame(part, plan.inpatient.code, plan.inpatient.name).with_columns(
                    pl.lit(False).alias("is_lump")
                )
            )
        for benefit in plan.lump_sums:
            hits = lumps.filter((pl.col("plan_idx") == i) & (pl.col("benefit") == benefit.code))
            if not hits.height:
                continue
            hits = hits.select("row", "amount_fen").join(
                bulk.drop("amount_fen"), on="row", how="inner"
            )
            claim_frames.append(
                _claim_frame(hits, benefit.code, benefit.name).with_columns(
                    pl.lit(True).alias("is_lump")
                )
            )
    if not claim_frames:
        claims = pl.DataFrame(
            schema={
                "member_id": pl.Int64,
                "scheme_year_id": pl.Int64,
                "is_lump": pl.Boolean,
                "benefit_code": pl.String,
            }
        )
    else:
        # Member by member (see _number_claims).
        claims = pl.concat(claim_frames, how="diagonal_relaxed").sort(
            ["scheme_year_id", "member_id", "discharge_date", "settlement_id", "benefit_code"]
        )
    return history_rows, bulk, ledgers, claims


def _prepare_claims(covered, history_pairs, year_ids, lump_rows, held, plans, sequences_aside):
    """_bulk_claims, run beside the records' COPY; on PostgreSQL (`sequences_aside`) it also
    numbers the claims and reserves their ids, through this thread's own connection.

    Sequence values are not transactional (a rolled-back import leaves a gap whichever
    connection took them), so taking them aside keeps the import's connection, busy with
    the records, from spending ~0.6 s per million claims on `nextval` afterwards. SQLite
    keeps its counters in tables the import's transaction must write itself."""
    history_rows, bulk, ledgers, claims = _bulk_claims(
        covered, history_pairs, year_ids, lump_rows, held, plans
    )
    if sequences_aside:
        try:
            claims = _number_claims(claims, plans)
            claims = claims.with_columns(
                pl.Series("id", reserve_ids(Claim, claims.height), dtype=pl.Int64)
            )
        finally:
            connection.close()  # this thread's own connection
    return history_rows, bulk, ledgers, claims


def _number_claims(claims: pl.DataFrame, plans) -> pl.DataFrame:
    """`claims` (from _bulk_claims) with their numbers, member by member: a member's claims of
    a year get consecutive numbers, in discharge order.

    That order is also the order the rows are written in: the primary key, the number index,
    the (member, scheme year, discharge date) index and the notifications' member index then
    all grow at their right edge, instead of taking a million inserts at random places.
    """
    if not claims.height:
        return claims.with_columns(pl.lit(None, dtype=pl.String).alias("number"))
    parts = []
    for lp in plans:
        part = (
            claims  # every claim is of the one plan's year: no copy
            if len(plans) == 1
            else claims.filter(pl.col("scheme_year_id") == lp.scheme_year.pk)
        )
        if not part.height:
            continue
        serials = pl.Series(claim_serials_allocate(part.height), dtype=pl.Int64)
        # format_claim_number, vectorised: HZ<year>-<serial, at least six digits>
        prefix = format_claim_number(lp.scheme_year.year, 0)[:-6]
        parts.append(
            part.with_columns((prefix + serials.cast(pl.String).str.zfill(6)).alias("number"))
        )
    return parts[0] if len(parts) == 1 else pl.concat(parts)


def _stored_targets(reversals) -> list[dict]:
    if not reversals.db_targets:
        return []
    by_target = {t: r for r, t in reversals.db_targets.items()}
    rows = SettlementRecord.objects.filter(settlement_id__in=list(by_target)).values(
        "settlement_id", "member_id", "scheme_year_id", "reversed_by"
    )
    out = []
    for r in rows:
        if r["reversed_by"]:
            continue  # already cancelled by an earlier reversal
        out.append({**r, "reversal": by_target[r["settlement_id"]]})
    return out


def _reversed_by(inp: pl.DataFrame, reversals) -> pl.DataFrame:
    """settlement id -> the reversal that cancels it, for this file's reversed records."""
    pairs = (
        inp.filter(pl.col("status") == "reversal")
        .select(
            pl.col("reverses").alias("settlement_id"), pl.col("settlement_id").alias("reversed_by")
        )
        .unique(subset=["settlement_id"], keep="first", maintain_order=True)
    )
    if reversals.pending_matches:
        extra = pl.DataFrame(
            {
                "settlement_id": list(reversals.pending_matches.values()),
                "reversed_by": list(reversals.pending_matches.keys()),
            }
        )
        pairs = pl.concat([pairs, extra]).unique(subset=["settlement_id"], keep="first")
    return pairs


def _recompute_work(history: pl.DataFrame, moved: pl.DataFrame, targets, plans, year_ids):
    from .recompute import MemberYearWork, NewStay

    index_of_year = {v: k for k, v in year_ids.items()}
    work: dict[tuple[int, int], MemberYearWork] = {}
    stays = pl.concat(
        [history.drop("history"), moved.drop("history", strict=False)], how="diagonal_relaxed"
    )
    for r in stays.iter_rows(named=True):
        key = (r["member_id"], r["scheme_year_id"])
        item = work.setdefault(key, MemberYearWork(*key, plan_index=index_of_year[key[1]]))
        item.new_stays.append(
            NewStay(
                settlement_id=r["settlement_id"],
                hospital=r["hospital"],
                hospital_code=r["hospital_code"],
                admit=r["admit"],
                discharge=r["discharge"],
                diagnosis_code=r["diagnosis_code"],
                amounts={
                    n: (r[f"{n}_fen"] if (r[f"{n}_fen"] or 0) >= 0 else None)
                    for n in (
                        "total_cost",
                        "fund_paid",
                        "self_pay_in_policy",
                        "self_pay_out_policy",
                    )
                },
                base_fen=r["base_fen"],
                review_reason=r["__review"],
                enrollment_id=r["enrollment_id"],
            )
        )
    for t in targets:
        key = (t["member_id"], t["scheme_year_id"])
        if key[0] is None or key[1] not in index_of_year:
            continue
        item = work.setdefault(key, MemberYearWork(*key, plan_index=index_of_year[key[1]]))
        item.reversed[t["settlement_id"]] = t["reversal"]
    return sorted(work.values(), key=lambda w: (w.scheme_year_id, w.member_id))


def _enqueue_delivery(lo: int, hi: int, created_at) -> None:
    from .tasks import deliver_import_notifications

    deliver_import_notifications.enqueue(lo, hi, created_at.isoformat())


def _with_id_columns(records: pl.DataFrame, id_index: pl.DataFrame | None) -> pl.DataFrame:
    """`records` with id_number_hash, id_number_masked and id_number_encrypted (what a record
    stores of its ID number; the clear text is not stored). Computed once per distinct
    number: blind indexes taken from `id_index` (the file's valid numbers, member →
    member_hash) where it has them, the rest (invalid texts) hashed here; ciphertexts
    (`encrypt_text_many`) only for numbers of records without a member."""
    text = (
        pl.when(pl.col("member") != "")
        .then(pl.col("member"))
        .otherwise(pl.col("id_number").str.slice(0, 18))
    )
    records = records.with_columns(text.alias("__idn"))
    linked = pl.col("status").is_in(["covered", "waiting_period"])
    values = records.select(pl.col("__idn").unique())
    if id_index is not None:
        values = values.join(
            id_index.rename({"member": "__idn", "member_hash": "id_number_hash"}),
            on="__idn",
            how="left",
        )
    else:
        values = values.with_columns(pl.lit(None, dtype=pl.String).alias("id_number_hash"))
    missing = values.filter(pl.col("id_number_hash").is_null()).get_column("__idn").to_list()
    if missing:
        values = values.update(
            pl.DataFrame(
                {"__idn": missing, "id_number_hash": blind_index_many("id_number", missing)},
                schema={"__idn": pl.String, "id_number_hash": pl.String},
            ),
            on="__idn",
        )
    unlinked = records.filter(~linked).get_column("__idn").unique().to_list()
    secret = pl.DataFrame(
        {"__idn": unlinked, "id_number_encrypted": encrypt_text_many(unlinked)},
        schema={"__idn": pl.String, "id_number_encrypted": pl.String},
    )
    length = pl.col("__idn").str.len_chars()
    values = values.join(secret, on="__idn", how="left").with_columns(
        pl.when(length == 18)
        .then(pl.col("__idn").str.slice(0, 6) + "********" + pl.col("__idn").str.slice(14))
        .otherwise(
            pl.col("__idn").map_elements(mask_id_number, return_dtype=pl.String)
            if values.height and (values.get_column("__idn").str.len_chars() != 18).any()
            else pl.lit("")
        )
        .alias("id_number_masked"),
        pl.col("id_number_encrypted").fill_null(""),
    )
    return records.join(values, on="__idn", how="left").drop("__idn")
