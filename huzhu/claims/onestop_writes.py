"""The one-stop settle's writes: a settlement's rows in two statements on PostgreSQL.

Part of the claims core (the only writer of claim tables); `huzhu.hospitals.onestop` calls it.
A settle writes its claim(s), their creation transitions, audit events and notifications
(the rows of `huzhu.claims.events`, as every channel), the member-year ledger's new totals
and the request row. On PostgreSQL: the claim INSERT, then one statement
chaining the rest as data-modifying CTEs (`WITH a AS (INSERT ...), b AS (UPDATE ...) INSERT
... RETURNING id`). Each INSERT is built from the model's fields with their `pre_save` and
`get_db_prep_save`, as bulk_create does (column changes follow the models). The claim ids are
reserved beforehand (with the claim numbers, see `huzhu.hospitals.onestop._nearby`), so the
transition and notification rows can name their claim. Two statements rather than one:
psycopg caches the parsed form of statements with at most 50 parameters, and one statement
with all of them (about 75) cost more to parse on every settle than the extra round trip.
Every statement is prepared once per connection (`prepared_cursor`). All or nothing: a
unique clash (the same request_id or settlement id committed concurrently) fails the
transaction. On SQLite (one writer at a time, no round trips) the same rows are written one
bulk insert after another.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, connections, transaction
from django.db.models import Model

from huzhu.audit.models import AuditEvent

from .ledger import LEDGER_WRITE_FIELDS
from .models import Claim, ClaimTransition, MemberYearLedger, Notification
from .notifications import notification_send
from .numbers import PG_SEQUENCE, claim_numbers_allocate, format_claim_number
from .services import OnestopClaimRows

__all__ = [
    "claim_sequences",
    "deliver_after_commit",
    "prepared_cursor",
    "reserve_claims",
    "write_settlement",
]

if connection.vendor == "postgresql":
    from django.db.backends.postgresql.base import ServerBindingCursor

    class _PreparedCursor(ServerBindingCursor):
        """Server-side binding, every statement prepared once per connection."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)


PREPARE = True  # False: the ordinary cursor everywhere (to compare the two)


def prepared_cursor():
    """A cursor (Django's wrapper: error translation, query log) whose statements PostgreSQL
    parses and plans once per connection and then only executes: the settle path's few
    statements are always the same, and their planning was a good part of PostgreSQL's CPU
    per settle. Parameters are bound server-side, not quoted into the text. Elsewhere: the
    ordinary cursor."""
    conn = connections[connection.alias]
    if conn.vendor != "postgresql" or not PREPARE:
        return conn.cursor()
    conn.close_if_health_check_failed()
    conn.ensure_connection()
    raw = conn.connection
    if raw.prepare_threshold is None:
        # Django opens connections with preparation off (psycopg then ignores prepare=True);
        # only server-side binding cursors like this one can prepare, so turning it on
        # changes nothing for the ORM's client-side binding cursors.
        raw.prepare_threshold = 5
    with conn.wrap_database_errors:
        return conn._prepare_cursor(_PreparedCursor(raw))


_claim_id_sequence: str | None = None


def claim_sequences() -> tuple[str, str]:
    """PostgreSQL: the sequences of claim ids and of claim numbers (looked up once)."""
    global _claim_id_sequence
    if _claim_id_sequence is None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_get_serial_sequence(%s, %s)",
                [Claim._meta.db_table, Claim._meta.pk.column],
            )
            _claim_id_sequence = cursor.fetchone()[0]
    return _claim_id_sequence, PG_SEQUENCE


def reserve_claims(year: int, count: int) -> list[tuple[int | None, str]]:
    """(claim id, claim number) for `count` new claims of scheme year `year`. PostgreSQL:
    both from their sequences in one query; SQLite: the number only (the insert gives the
    id)."""
    if connection.vendor != "postgresql":
        return [(None, n) for n in claim_numbers_allocate(year=year, count=count)]
    id_seq, number_seq = claim_sequences()
    with prepared_cursor() as cursor:
        cursor.execute(
            "SELECT nextval(%s::regclass), nextval(%s::regclass) FROM generate_series(1, %s)",
            [id_seq, number_seq, count],
        )
        return [(cid, format_claim_number(year, serial)) for cid, serial in cursor.fetchall()]


_insert_sql: dict[tuple[type[Model], bool, bool], tuple[str, list]] = {}
# Field types whose str / int / bool / date values PostgreSQL's backend passes through
# unchanged (get_db_prep_save would return them as they are): skipping the call for them is
# a good part of building a 44-column claim row.
_PLAIN = {
    "CharField",
    "TextField",
    "IntegerField",
    "BigIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "SmallIntegerField",
    "BooleanField",
    "ForeignKey",
    "BigAutoField",
    "DateField",
    "DateTimeField",
}
_PLAIN_VALUES = (str, int, bool, dt.date)  # datetime is a date


def _shape(model: type[Model], with_pk: bool) -> list[tuple]:
    fields = [f for f in model._meta.concrete_fields if not f.generated]
    if not with_pk:
        fields = [f for f in fields if not f.primary_key]
    return [
        (
            f,
            f.attname,
            bool(getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)),
            f.get_internal_type() in _PLAIN,
        )
        for f in fields
    ]


def _insert(conn, objs: list[Model], returning_pk: bool = False) -> tuple[str, list]:
    """The INSERT of `objs` (one model; all with or all without a primary key) as Django's
    bulk_create writes it: every concrete field's `pre_save` (auto_now stamps) and
    `get_db_prep_save` (skipped where it returns the value as it is); the statement text is
    built once per process from the model's fields. PostgreSQL only."""
    model = type(objs[0])
    with_pk = objs[0].pk is not None
    cached = _insert_sql.get((model, with_pk, returning_pk))
    if cached is None:
        shape = _shape(model, with_pk)
        qn = conn.ops.quote_name
        columns = ", ".join(qn(f.column) for f, *_rest in shape)
        sql = f"INSERT INTO {qn(model._meta.db_table)} ({columns}) VALUES "
        cached = (sql, shape)
        _insert_sql[(model, with_pk, returning_pk)] = cached
    sql, shape = cached
    params = []
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
        for f, attname, stamped, plain in shape:
            value = f.pre_save(obj, True) if stamped else getattr(obj, attname)
            if value is None or (plain and isinstance(value, _PLAIN_VALUES)):
                params.append(value)
            else:
                params.append(f.get_db_prep_save(value, conn))
    row = "(" + ", ".join(["%s"] * len(shape)) + ")"
    sql += ", ".join([row] * len(objs))
    if returning_pk:
        sql += f" RETURNING {conn.ops.quote_name(model._meta.pk.column)}"
    return sql, params


def _ledger_update(conn, ledger: MemberYearLedger) -> tuple[str, list]:
    qn = conn.ops.quote_name
    opts = MemberYearLedger._meta
    fields = [opts.get_field(name) for name in LEDGER_WRITE_FIELDS]
    sets = ", ".join(f"{qn(f.column)} = %s" for f in fields)
    params = [f.get_db_prep_save(f.pre_save(ledger, False), conn) for f in fields]
    sql = f"UPDATE {qn(opts.db_table)} SET {sets} WHERE {qn(opts.pk.column)} = %s"
    return sql, [*params, ledger.pk]


def write_settlement(rows: list[OnestopClaimRows], ledger: MemberYearLedger, request) -> None:
    """Write a settlement's rows (inside the caller's transaction, which holds the ledger
    lock): claims, transitions, notifications, the ledger update, the request row."""
    claims = [r.claim for r in rows]
    transitions = [r.transition for r in rows]
    audits = [r.audit for r in rows]
    notes = [r.notification for r in rows if r.notification is not None]
    if connection.vendor != "postgresql":
        Claim.objects.bulk_create(claims)
        ClaimTransition.objects.bulk_create(transitions)
        for audit, claim in zip(audits, claims, strict=True):
            audit.object_id = str(claim.pk)  # the insert just numbered it
        AuditEvent.objects.bulk_create(audits)
        if notes:
            Notification.objects.bulk_create(notes)
        ledger.save(update_fields=list(LEDGER_WRITE_FIELDS))
        request.save(force_insert=True)
        return
    conn = connections[connection.alias]  # the wrapper itself: no per-attribute proxy lookups
    with prepared_cursor() as cursor:
        cursor.execute(*_insert(conn, claims))
    parts = [_insert(conn, transitions), _insert(conn, audits), _ledger_update(conn, ledger)]
    if notes:  # last, returning their ids (delivery after the commit updates them)
        parts.append(_insert(conn, [request]))
        last_sql, last_params = _insert(conn, notes, returning_pk=True)
    else:
        last_sql, last_params = _insert(conn, [request])
    sql = "WITH " + ", ".join(f"w{i} AS ({part[0]})" for i, part in enumerate(parts))
    params = [p for part in parts for p in part[1]]
    with prepared_cursor() as cursor:
        cursor.execute(f"{sql} {last_sql}", [*params, *last_params])
        if notes:
            for note, (pk,) in zip(notes, cursor.fetchall(), strict=True):
                note.pk = pk
    for obj in (*claims, *transitions, *audits, *notes, request):
        obj._state.adding = False
        obj._state.db = connection.alias


_DELIVERY_FIELDS = ("channels", "error", "sent_at")


def deliver_after_commit(notes: list[Notification]) -> None:
    """When the transaction commits, send the settlement's notifications through the
    configured channels and record the outcome (`notification_send`, as every claim
    notification). PostgreSQL: the record is one prepared UPDATE per notification rather
    than a model save. A failure here (the database gone right after the commit) is logged
    and leaves the notification stored, unsent."""
    if not notes:
        return

    def deliver() -> None:
        for note in notes:
            notification_send(note)
            if connection.vendor != "postgresql":
                note.save(update_fields=list(_DELIVERY_FIELDS))
                continue
            conn = connections[connection.alias]
            qn = conn.ops.quote_name
            opts = Notification._meta
            sets = ", ".join(f"{qn(opts.get_field(n).column)} = %s" for n in _DELIVERY_FIELDS)
            with prepared_cursor() as cursor:
                cursor.execute(
                    f"UPDATE {qn(opts.db_table)} SET {sets} WHERE {qn(opts.pk.column)} = %s",
                    [*(getattr(note, n) for n in _DELIVERY_FIELDS), note.pk],
                )

    transaction.on_commit(deliver, robust=True)
