"""The claim rollups (`ClaimFacts`, `ClaimDays`, `ClaimHospitals`): database triggers that keep them, and the
rebuild and the check against a fresh count of the claims.

Why triggers: claims are written by the claims core, by the settlement import (COPY and bulk
UPDATEs), by the payments' bulk steps and by hand in a repair; a trigger on `claims_claim`
sees every one of them, on SQLite and PostgreSQL alike, in the writer's own transaction. The
reports then read a few thousand rollup rows instead of a million claims.

- SQLite: row triggers (one writer at a time, so the upserts never wait on each other).
- PostgreSQL: statement triggers with transition tables: one aggregated upsert per statement,
  however many claims it wrote; the upsert goes in key order and skips keys whose change nets
  to zero, so an update that does not touch the figures locks no rollup row. They are
  ENABLE ALWAYS: they fire under `session_replication_role = replica` too (the settlement
  import's way to skip the foreign-key checks).

What a claim contributes is defined once, in `_contributions` (SQL over a relation of claim
rows): the triggers add the new rows' contributions and subtract the old ones', the rebuild
and the check compute it over the whole table. Months and days are local, shifted by the time
zone's offset when the triggers were installed (Asia/Shanghai has no daylight saving); after a
change of TIME_ZONE run `huzhu report-rollup rebuild`, which reinstalls the triggers.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import DatabaseError, transaction
from django.db import connection as default_connection

from .base import _offset_minutes, _pg_local

__all__ = [
    "rollup_check",
    "rollup_install",
    "rollup_rebuild",
    "rollup_uninstall",
    "rollups_deferred",
]

TABLE = "claims_claim"
FACTS = "reports_claimfacts"
DAYS = "reports_claimdays"
HOSPITALS = "reports_claimhospitals"
FACT_KEYS = (
    "scheme_year_id",
    "union_id",
    "benefit_code",
    "status",
    "channel",
    "approved_month",
    "paid_month",
)
DAY_KEYS = ("scheme_year_id", "union_id", "channel", "kind", "days")
HOSPITAL_KEYS = ("scheme_year_id", "union_id", "hospital_name")
# The claim columns the figures depend on (a change of any other column changes nothing).
COLUMNS = (
    "scheme_year_id",
    "union_id",
    "benefit_code",
    "status",
    "source",
    "filer",
    "amount_fen",
    "approved_at",
    "paid_at",
    "discharge_date",
    "hospital_name",
)
TRIGGERS = ("reports_claim_rollup_ins", "reports_claim_rollup_upd", "reports_claim_rollup_del")


def _month(vendor: str, col: str) -> str:
    if vendor == "postgresql":
        return f"COALESCE(to_char({_pg_local(col)}, 'YYYY-MM'), '')"
    return f"COALESCE(strftime('%Y-%m', {col}, '{_offset_minutes():+d} minutes'), '')"


def _days(vendor: str, col: str, r: str) -> str:
    if vendor == "postgresql":
        return f"({_pg_local(col)}::date - {r}.discharge_date)"
    return (
        f"CAST(julianday(date({col}, '{_offset_minutes():+d} minutes'))"
        f" - julianday({r}.discharge_date) AS INTEGER)"
    )


def _channel(r: str) -> str:
    return (
        f"CASE WHEN {r}.source = 'auto' THEN 'auto' WHEN {r}.source = 'onestop' THEN 'onestop'"
        f" WHEN {r}.filer = 'union_operator' THEN 'counter' ELSE 'online' END"
    )


def _parts(vendor: str, r: str) -> list[tuple[str, tuple[str, ...], list[str], str, bool]]:
    """What one claim row (`r`: an alias or NEW/OLD) contributes: (rollup table, its keys, the
    key expressions, the condition, whether it sums the amount). The same rules as the
    reports' filters: approved or paid claims; days to approval when the discharge date and
    approval time are known, days to payment when paid too."""
    counted = f"{r}.status IN ('approved', 'paid')"
    known = f"{counted} AND {r}.discharge_date IS NOT NULL AND {r}.approved_at IS NOT NULL"
    year_union = [f"{r}.scheme_year_id", f"{r}.union_id"]
    return [
        (
            FACTS,
            FACT_KEYS,
            [
                *year_union,
                f"{r}.benefit_code",
                f"{r}.status",
                _channel(r),
                _month(vendor, f"{r}.approved_at"),
                _month(vendor, f"{r}.paid_at"),
            ],
            counted,
            True,
        ),
        (
            DAYS,
            DAY_KEYS,
            [*year_union, _channel(r), "'a'", _days(vendor, f"{r}.approved_at", r)],
            known,
            False,
        ),
        (
            DAYS,
            DAY_KEYS,
            [*year_union, _channel(r), "'p'", _days(vendor, f"{r}.paid_at", r)],
            f"{known} AND {r}.status = 'paid' AND {r}.paid_at IS NOT NULL",
            False,
        ),
        (HOSPITALS, HOSPITAL_KEYS, [*year_union, f"{r}.hospital_name"], counted, True),
    ]


ROLLUPS = ((FACTS, FACT_KEYS, True), (DAYS, DAY_KEYS, False), (HOSPITALS, HOSPITAL_KEYS, True))


def _contributions(vendor: str, rel: str, sign: int) -> tuple[str, str, str]:
    """(facts, days, hospitals): SELECTs of what the claim rows of relation `rel` contribute,
    times `sign`, with columns named like the rollup's keys, `n` and `fen`."""
    out = {table: [] for table, _, _ in ROLLUPS}
    for table, keys, exprs, where, _fen in _parts(vendor, "r"):
        cols = ", ".join(f"{e} AS {k}" for e, k in zip(exprs, keys, strict=True))
        out[table].append(
            f"SELECT {cols}, {sign} AS n, {sign} * r.amount_fen AS fen FROM {rel} r WHERE {where}"
        )
    return tuple(" UNION ALL ".join(out[table]) for table, _, _ in ROLLUPS)


# PostgreSQL: each session adds to its own slot of a key (its backend pid mod SLOTS), so that
# concurrent writers of the same key (every one-stop settle of a union in a month) do not
# queue on one rollup row until each other's commit. A key's figures are the sum over its
# slots: one slot may go negative (a claim counted in slot 3 and voided from slot 5).
SLOTS = 16


def _on_conflict(table: str, keys: tuple[str, ...], fen: bool) -> str:
    return (
        f" ON CONFLICT ({', '.join(keys)}, slot) DO UPDATE SET"
        f" claims = {table}.claims + excluded.claims"
        + (f", amount_fen = {table}.amount_fen + excluded.amount_fen" if fen else "")
    )


def _upserts(facts_sql: str, days_sql: str, hospitals_sql: str, *, slot: str = "0") -> list[str]:
    """Add the summed contributions to the rollups' `slot`, key by key in key order
    (PostgreSQL locks rollup rows in one order whoever writes), skipping keys whose change
    nets to zero."""
    out = []
    for (table, keys, fen), sql in zip(ROLLUPS, (facts_sql, days_sql, hospitals_sql), strict=True):
        k = ", ".join(keys)
        out.append(
            f"INSERT INTO {table} ({k}, slot, claims{', amount_fen' if fen else ''})"
            f" SELECT {k}, {slot}, SUM(n){', SUM(fen)' if fen else ''} FROM ({sql}) d"
            f" WHERE true GROUP BY {k}"
            f" HAVING SUM(n) <> 0{' OR SUM(fen) <> 0' if fen else ''} ORDER BY {k}"
            + _on_conflict(table, keys, fen)
        )
    return out


def _change_sql(vendor: str, old: str | None, new: str | None) -> tuple[str, str, str]:
    """(facts, days, hospitals): what a statement's old rows take away and new rows add."""
    parts = []
    if old:
        parts.append(_contributions(vendor, old, -1))
    if new:
        parts.append(_contributions(vendor, new, 1))
    return tuple(" UNION ALL ".join(p[i] for p in parts) for i in range(3))


PG_SLOT = f"pg_backend_pid() % {SLOTS}"


# PostgreSQL, a batch that writes claims one statement at a time in one long transaction
# (the settlement import's member-years that already hold claims, re-adjudication): every
# statement's upsert would update the same few rollup rows again, and each update of a row
# the transaction already updated walks the chain of its earlier versions (none can be
# pruned before the commit; with a savepoint per claim each step is a subtransaction too), so
# the cost grows with the square of the claims: 20,000 claims in the cluster test took 553 s
# instead of 180 s. Inside `rollups_deferred()` the triggers append the contributions to
# temporary tables instead (no row is updated twice) and one grouped upsert adds them at the
# end of the block.
DEFER_SETTING = "huzhu.rollups_deferred"
PENDING = (
    "huzhu_rollup_pending_facts",
    "huzhu_rollup_pending_days",
    "huzhu_rollup_pending_hospitals",
)


def _pg_trigger_body(old: str | None, new: str | None) -> str:
    changes = _change_sql("postgresql", old, new)
    pending = "; ".join(
        f"INSERT INTO {table} SELECT * FROM ({sql}) d"
        for table, sql in zip(PENDING, changes, strict=True)
    )
    upserts = "; ".join(_upserts(*changes, slot=PG_SLOT))
    return (
        f"BEGIN IF current_setting('{DEFER_SETTING}', true) = 'on' THEN {pending}; RETURN NULL;"
        f" END IF; {upserts}; RETURN NULL; END"
    )


def _pending_create(cursor) -> None:
    for table, sql in zip(PENDING, _contributions("postgresql", TABLE, 1), strict=True):
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {table} ON COMMIT DELETE ROWS AS {sql}"
            " WITH NO DATA"
        )


def _pending_flush(cursor) -> None:
    for sql in _upserts(*(f"SELECT * FROM {table}" for table in PENDING), slot=PG_SLOT):
        cursor.execute(sql)
    for table in PENDING:
        cursor.execute(f"DELETE FROM {table}")


@contextmanager
def rollups_deferred(connection=None):
    """Within the block (inside a transaction), the claim rollups' triggers queue what each
    statement contributes, and one grouped upsert adds it all when the block ends: for a
    batch that writes many claims one statement at a time. Nested blocks add at the end of
    the outermost. If the block raises, what is queued is still added (the claim writes it
    mirrors are still in the transaction unless the caller rolls back, which drops both),
    unless the transaction can no longer run statements. SQLite: nothing to do (row triggers
    update a rollup row in place)."""
    connection = connection or default_connection
    if connection.vendor != "postgresql":
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("rollups_deferred() must run inside a transaction")
    depth = getattr(connection, "_huzhu_rollups_deferred", 0)
    if depth == 0:
        with connection.cursor() as cursor:
            _pending_create(cursor)
            cursor.execute("SELECT set_config(%s, 'on', true)", [DEFER_SETTING])
    connection._huzhu_rollups_deferred = depth + 1
    try:
        yield
    finally:
        connection._huzhu_rollups_deferred = depth
        if depth == 0 and not connection.needs_rollback:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config(%s, 'off', true)", [DEFER_SETTING])
                    _pending_flush(cursor)
            except DatabaseError:
                # The transaction is failing (an error inside the block): it rolls back, the
                # queued rows and the claim writes with it.
                connection.needs_rollback = True
                raise


def _row_upserts(prefix: str, sign: int) -> list[str]:
    """SQLite row triggers: one plain upsert per rollup row the claim `prefix` (NEW / OLD)
    touches, no subquery or GROUP BY (a settlement import fires them for every claim)."""
    out = []
    for table, keys, exprs, where, fen in _parts("sqlite", prefix):
        values = ", ".join(exprs)
        amount = f", {sign} * {prefix}.amount_fen" if fen else ""
        out.append(
            f"INSERT INTO {table} ({', '.join(keys)}, slot, claims{', amount_fen' if fen else ''})"
            f" SELECT {values}, 0, {sign}{amount} WHERE {where}" + _on_conflict(table, keys, fen)
        )
    return out


def _trigger_sql(vendor: str) -> list[str]:
    if vendor == "sqlite":
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in COLUMNS)
        relevant = "IN ('approved', 'paid')"

        def body(stmts):
            return "BEGIN " + "; ".join(stmts) + "; END"

        return [
            f"CREATE TRIGGER {TRIGGERS[0]} AFTER INSERT ON {TABLE}"
            f" WHEN NEW.status {relevant} {body(_row_upserts('NEW', 1))}",
            f"CREATE TRIGGER {TRIGGERS[1]} AFTER UPDATE ON {TABLE}"
            f" WHEN (OLD.status {relevant} OR NEW.status {relevant}) AND ({changed})"
            f" {body([*_row_upserts('OLD', -1), *_row_upserts('NEW', 1)])}",
            f"CREATE TRIGGER {TRIGGERS[2]} AFTER DELETE ON {TABLE}"
            f" WHEN OLD.status {relevant} {body(_row_upserts('OLD', -1))}",
        ]
    if vendor != "postgresql":  # pragma: no cover - the two databases the project runs on
        raise NotImplementedError(vendor)
    out = []
    for name, event, old, new, referencing in (
        (TRIGGERS[0], "INSERT", None, "new_rows", "NEW TABLE AS new_rows"),
        (
            TRIGGERS[1],
            "UPDATE",
            "old_rows",
            "new_rows",
            "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        ),
        (TRIGGERS[2], "DELETE", "old_rows", None, "OLD TABLE AS old_rows"),
    ):
        out.append(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" {_pg_trigger_body(old, new)} $$"
        )
        out.append(
            f"CREATE TRIGGER {name} AFTER {event} ON {TABLE} REFERENCING {referencing}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
        # ALWAYS: the settlement import sets session_replication_role = replica to skip the
        # foreign-key triggers, which skips ordinary triggers too.
        out.append(f"ALTER TABLE {TABLE} ENABLE ALWAYS TRIGGER {name}")
    return out


def rollup_uninstall(connection=None) -> None:
    connection = connection or default_connection
    with connection.cursor() as cursor:
        for name in TRIGGERS:
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {TABLE}")
                cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")
            else:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def rollup_install(connection=None) -> None:
    """(Re)create the triggers with the time zone's current offset."""
    connection = connection or default_connection
    rollup_uninstall(connection)
    with connection.cursor() as cursor:
        for sql in _trigger_sql(connection.vendor):
            cursor.execute(sql)


def _fresh(connection) -> tuple[str, str, str]:
    return _contributions(connection.vendor, TABLE, 1)


def rollup_rebuild(connection=None) -> dict:
    """Reinstall the triggers and recount both rollups from the claims, in one transaction
    (PostgreSQL: claim writers wait for it; readers do not)."""
    connection = connection or default_connection
    with transaction.atomic(using=connection.alias):
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Deferred foreign-key checks still queued in this transaction would forbid
                # replacing the triggers ("pending trigger events"): run them now.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"LOCK TABLE {TABLE} IN SHARE ROW EXCLUSIVE MODE")
            rollup_install(connection)
            cursor.execute(f"DELETE FROM {FACTS}")
            cursor.execute(f"DELETE FROM {DAYS}")
            cursor.execute(f"DELETE FROM {HOSPITALS}")
            for sql in _upserts(*_fresh(connection)):
                cursor.execute(sql)
            cursor.execute(f"SELECT COUNT(*) FROM {FACTS}")
            facts = cursor.fetchone()[0]
            cursor.execute(f"SELECT COUNT(*) FROM {DAYS}")
            days = cursor.fetchone()[0]
            cursor.execute(f"SELECT COUNT(*) FROM {HOSPITALS}")
            hospitals = cursor.fetchone()[0]
    return {"facts_rows": facts, "days_rows": days, "hospitals_rows": hospitals}


def _rows(cursor, sql: str) -> dict:
    cursor.execute(sql)
    return {tuple(r[:-2]): tuple(r[-2:]) for r in cursor.fetchall()}


def rollup_check(connection=None, *, limit: int = 20) -> dict:
    """Compare the rollups with a fresh count of the claims (one consistent snapshot on
    PostgreSQL: REPEATABLE READ, when not called inside a transaction), key by key summed over
    the slots. Returns {"ok", "triggers", "facts_rows", "days_rows", "hospitals_rows",
    "differences_count", "differences": [{"table", "key", "rollup", "claims"}] (the first
    `limit`)}."""
    connection = connection or default_connection
    facts_sql, days_sql, hospitals_sql = _fresh(connection)
    fk, dk, hk = ", ".join(FACT_KEYS), ", ".join(DAY_KEYS), ", ".join(HOSPITAL_KEYS)
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if snapshot:  # a transaction of its own: one snapshot for both counts
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT COUNT(*) FROM pg_trigger WHERE tgrelid = %s::regclass"
                " AND tgname = ANY(%s) AND tgenabled = 'A'",
                [TABLE, list(TRIGGERS)],
            )
        else:
            cursor.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s"
                f" AND name IN ({', '.join(['%s'] * len(TRIGGERS))})",
                [TABLE, *TRIGGERS],
            )
        triggers = cursor.fetchone()[0]
        pairs = [
            (
                "facts",
                _rows(
                    cursor,
                    f"SELECT {fk}, SUM(claims), SUM(amount_fen) FROM {FACTS} GROUP BY {fk}"
                    " HAVING SUM(claims) <> 0 OR SUM(amount_fen) <> 0",
                ),
                _rows(
                    cursor,
                    f"SELECT {fk}, SUM(n), SUM(fen) FROM ({facts_sql}) d GROUP BY {fk}",
                ),
            ),
            (
                "days",
                _rows(
                    cursor,
                    f"SELECT {dk}, SUM(claims), 0 FROM {DAYS} GROUP BY {dk}"
                    " HAVING SUM(claims) <> 0",
                ),
                _rows(cursor, f"SELECT {dk}, SUM(n), 0 FROM ({days_sql}) d GROUP BY {dk}"),
            ),
            (
                "hospitals",
                _rows(
                    cursor,
                    f"SELECT {hk}, SUM(claims), SUM(amount_fen) FROM {HOSPITALS} GROUP BY {hk}"
                    " HAVING SUM(claims) <> 0 OR SUM(amount_fen) <> 0",
                ),
                _rows(
                    cursor,
                    f"SELECT {hk}, SUM(n), SUM(fen) FROM ({hospitals_sql}) d GROUP BY {hk}",
                ),
            ),
        ]
    differences = []
    for table, kept, fresh in pairs:
        for key in sorted(set(kept) | set(fresh), key=repr):
            a = tuple(int(x or 0) for x in kept.get(key, (0, 0)))
            b = tuple(int(x or 0) for x in fresh.get(key, (0, 0)))
            if a != b:
                differences.append(
                    {"table": table, "key": list(key), "rollup": list(a), "claims": list(b)}
                )
    return {
        "ok": not differences and triggers == len(TRIGGERS),
        "triggers": triggers,
        "facts_rows": len(pairs[0][1]),
        "days_rows": len(pairs[1][1]),
        "hospitals_rows": len(pairs[2][1]),
        "differences_count": len(differences),
        "differences": differences[:limit],
    }
