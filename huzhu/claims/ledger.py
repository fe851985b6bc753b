"""The member-year ledger lock: every writer of a member-year holds it while it computes and writes.

Lock order, always: member-year ledger rows first (ordered by scheme year id, then member id),
then claim rows. Services in this app follow it; code that writes claims of a member-year should too.

PostgreSQL: one statement creates the row if missing and locks it until the surrounding
transaction ends (INSERT ... ON CONFLICT DO UPDATE ... RETURNING: the conflict branch takes the
row lock, so two writers creating it at the same moment both succeed, the second waiting for
the first's commit and reading its totals).
SQLite: `select_for_update()` is a no-op there; writers are serialized instead by the
IMMEDIATE transaction mode configured in settings (every transaction takes the database write
lock at BEGIN), so holding a transaction open is holding the lock.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, connections, transaction

from huzhu.plans.rules.ledger import LedgerState

from .models import MemberYearLedger


@dataclass(frozen=True)
class LedgerTotals:
    """Member-year totals after a write (computed by the rules engine under the lock)."""

    deductible_used_fen: int
    cumulative_excess_fen: int
    paid_toward_cap_fen: int
    lump_sums: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_state(cls, state: LedgerState, lump_sums: dict[str, str] | None = None):
        """From the rules engine's state; `lump_sums` maps benefit code -> claim number."""
        known = dict(lump_sums or {})
        return cls(
            deductible_used_fen=state.deductible_used_fen,
            cumulative_excess_fen=state.cumulative_excess_fen,
            paid_toward_cap_fen=state.paid_fen,
            lump_sums={code: known.get(code, "") for code in sorted(state.lump_sums_paid)},
        )


def ledger_state(ledger: MemberYearLedger) -> LedgerState:
    """The locked row as the rules engine's `LedgerState` (this year's lump sums only; the
    caller adds lifetime ones paid in other years)."""
    return LedgerState(
        deductible_used_fen=ledger.deductible_used_fen,
        cumulative_excess_fen=ledger.cumulative_excess_fen,
        paid_fen=ledger.paid_toward_cap_fen,
        lump_sums_paid=frozenset(ledger.lump_sums),
    )


def _require_transaction() -> None:
    if not connection.in_atomic_block:
        raise transaction.TransactionManagementError(
            "ledger_lock must be called inside transaction.atomic(): the lock lasts until "
            "the transaction ends"
        )


def ledger_lock(*, member_id: int, scheme_year_id: int) -> MemberYearLedger:
    """The member-year's ledger row, created if missing, locked until the transaction ends.

    Precondition: inside `transaction.atomic()`. Calling it again in the same transaction is
    harmless (the lock is already held). One query when the row exists, three when it is new.
    """
    _require_transaction()
    if connection.vendor == "postgresql":
        return _upsert_locked(member_id, scheme_year_id)
    qs = MemberYearLedger.objects.select_for_update()
    ledger = qs.filter(member_id=member_id, scheme_year_id=scheme_year_id).first()
    if ledger is None:
        MemberYearLedger.objects.bulk_create(
            [MemberYearLedger(member_id=member_id, scheme_year_id=scheme_year_id)],
            ignore_conflicts=True,
        )
        ledger = qs.get(member_id=member_id, scheme_year_id=scheme_year_id)
    return ledger


_upsert_sql: str | None = None


def _upsert_locked(member_id: int, scheme_year_id: int) -> MemberYearLedger:
    """PostgreSQL: the row created if missing and locked, in one round trip."""
    global _upsert_sql
    conn = connections[connection.alias]  # the wrapper itself, not the per-thread proxy
    opts = MemberYearLedger._meta
    fields = opts.concrete_fields
    inserted = [f for f in fields if not f.primary_key]
    if _upsert_sql is None:
        qn = conn.ops.quote_name
        version = qn(opts.get_field("version").column)
        member = qn(opts.get_field("member").column)
        year = qn(opts.get_field("scheme_year").column)
        _upsert_sql = (
            f"INSERT INTO {qn(opts.db_table)} AS l ({', '.join(qn(f.column) for f in inserted)}) "
            f"VALUES ({', '.join(['%s'] * len(inserted))}) "
            f"ON CONFLICT ({member}, {year}) DO UPDATE SET {version} = l.{version} "
            f"RETURNING {', '.join('l.' + qn(f.column) for f in fields)}"
        )
    blank = MemberYearLedger(member_id=member_id, scheme_year_id=scheme_year_id)
    values = [f.get_db_prep_save(f.pre_save(blank, True), conn) for f in inserted]
    with conn.cursor() as cursor:
        cursor.execute(_upsert_sql, values)
        row = cursor.fetchone()
    values = []
    for value, f in zip(row, fields, strict=True):
        for conv in f.get_db_converters(conn):
            value = conv(value, f, conn)
        values.append(value)
    return MemberYearLedger.from_db(conn.alias, [f.attname for f in fields], values)


def ledger_lock_many(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], MemberYearLedger]:
    """Lock many member-years at once (bulk imports), in a fixed order so writers never deadlock.

    `pairs` are (member_id, scheme_year_id). Returns {(member_id, scheme_year_id): ledger}.
    Precondition: inside `transaction.atomic()`.
    """
    _require_transaction()
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    MemberYearLedger.objects.bulk_create(
        [MemberYearLedger(member_id=m, scheme_year_id=y) for m, y in wanted],
        ignore_conflicts=True,
        batch_size=2000,
    )
    found: dict[tuple[int, int], MemberYearLedger] = {}
    by_year: dict[int, list[int]] = {}
    for m, y in wanted:
        by_year.setdefault(y, []).append(m)
    for year_id in sorted(by_year):
        members = by_year[year_id]
        for start in range(0, len(members), 2000):
            chunk = members[start : start + 2000]
            rows = (
                MemberYearLedger.objects.select_for_update()
                .filter(scheme_year_id=year_id, member_id__in=chunk)
                .order_by("member_id")
            )
            for row in rows:
                found[(row.member_id, row.scheme_year_id)] = row
    return found


LEDGER_WRITE_FIELDS = (
    "deductible_used_fen",
    "cumulative_excess_fen",
    "paid_toward_cap_fen",
    "lump_sums",
    "version",
    "updated_at",
)


def ledger_apply(ledger: MemberYearLedger, totals: LedgerTotals) -> MemberYearLedger:
    """Set new totals on a ledger row the caller holds locked and bump its version, without
    saving: for a caller that writes `LEDGER_WRITE_FIELDS` together with other rows (the
    one-stop settle). Everyone else calls `ledger_write`."""
    _require_transaction()
    ledger.deductible_used_fen = totals.deductible_used_fen
    ledger.cumulative_excess_fen = totals.cumulative_excess_fen
    ledger.paid_toward_cap_fen = totals.paid_toward_cap_fen
    ledger.lump_sums = dict(totals.lump_sums)
    ledger.version += 1  # safe: the caller holds the row lock
    return ledger


def ledger_write(ledger: MemberYearLedger, totals: LedgerTotals) -> MemberYearLedger:
    """Store new totals on a ledger row the caller holds locked; bumps its version."""
    ledger_apply(ledger, totals)
    ledger.save(update_fields=list(LEDGER_WRITE_FIELDS))
    return ledger
