"""Fast bulk writes: PostgreSQL COPY, SQLite executemany, with primary keys handed back.

Django's `bulk_create` builds a model instance per row and a huge VALUES list; for the
100,000-row imports we write here that costs several times more than the data itself
(pitfalls.md: COPY 1M rows ~5 s, bulk_create ~73 s). These helpers take plain tuples.

Call them inside `transaction.atomic()`: ids are reserved up front (PostgreSQL: from the
table's sequence; SQLite: after the highest id ever given, under the write lock that the
project's `transaction_mode=IMMEDIATE` takes at BEGIN).
"""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from datetime import date

from django.db import connection, models
from django.utils import timezone

__all__ = ["bulk_insert", "bulk_update_rows", "gc_paused", "in_chunks", "values_in"]


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while a big import builds its row objects.

    Every few hundred new containers CPython scans the young objects, and now and then all
    of them: with a million rows alive that costs a third of the import's CPU time. Our rows
    make no reference cycles, so nothing is lost by collecting once afterwards instead.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def in_chunks(values: Sequence, size: int | None = None) -> Iterable[Sequence]:
    """Slices small enough for an `IN (...)` list on this database."""
    if size is None:
        size = 900 if connection.vendor == "sqlite" else 10_000
    for start in range(0, len(values), size):
        yield values[start : start + size]


def values_in(column_sql: str, values: Sequence) -> tuple[str, list]:
    """SQL and params for `column IN (values)` as one parameter, whatever the list's length.

    PostgreSQL: `= ANY(%s)` with an array; SQLite: `IN (SELECT value FROM json_each(%s))`.
    Django's `__in` makes one placeholder per value (and costs ~10 µs per value to prepare).
    """
    if connection.vendor == "postgresql":
        return f"{column_sql} = ANY(%s)", [list(values)]
    if connection.vendor == "sqlite":
        import json

        return f"{column_sql} IN (SELECT value FROM json_each(%s))", [json.dumps(list(values))]
    placeholders = ", ".join(["%s"] * len(values)) or "NULL"
    return f"{column_sql} IN ({placeholders})", list(values)


@contextmanager
def _sqlite_cache(cursor, kib: int = 65536):
    """A bigger page cache while many rows go into indexed tables (default is 2 MB)."""
    cursor.execute("PRAGMA cache_size")
    before = cursor.fetchone()[0]
    cursor.execute(f"PRAGMA cache_size = -{kib}")
    try:
        yield
    finally:
        cursor.execute(f"PRAGMA cache_size = {int(before)}")


def _columns(model: type[models.Model], fields: Sequence[str]) -> list[models.Field]:
    return [model._meta.get_field(name) for name in fields]


def _text_columns(model_fields: list[models.Field], rows: Sequence[Sequence]) -> list:
    """`rows` transposed, dates and datetimes as ISO text (each distinct value formatted
    once): COPY then only copies strings and integers, and PostgreSQL parses the text."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(model_fields)
    for i, field in enumerate(model_fields):
        if isinstance(field, models.DateField):  # DateTimeField is a DateField too
            memo = {v: v.isoformat() for v in set(columns[i]) if v is not None}
            memo[None] = None
            columns[i] = list(map(memo.__getitem__, columns[i]))
    return columns


def _sqlite_value(field: models.Field):
    """The converter to what Django itself stores on SQLite for this column, or None:
    dates as ISO text, aware datetimes as naive UTC text."""
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return date.isoformat
    return None


def _sqlite_columns(model_fields: list[models.Field], rows: Sequence[Sequence]) -> list:
    """`rows` transposed into columns, date and datetime columns converted for SQLite.

    Column-wise, each distinct value is converted once (dates repeat a lot): C-level
    `zip`/`map` do the per-row work.
    """
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(model_fields)
    for i, field in enumerate(model_fields):
        convert = _sqlite_value(field)
        if convert is None:
            continue
        memo = {
            v: (v if isinstance(v, str) else convert(v)) for v in set(columns[i]) if v is not None
        }
        memo[None] = None
        columns[i] = list(map(memo.__getitem__, columns[i]))
    return columns


def _with_defaults(model, fields: Sequence[str], rows: Sequence[Sequence]):
    given = {model._meta.get_field(name).attname for name in fields}
    extra_names, extra_values = [], []
    now = timezone.now()
    for field in model._meta.concrete_fields:
        if field.primary_key or field.attname in given:
            continue
        extra_names.append(field.name)
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            extra_values.append(now)
        else:
            extra_values.append(field.get_default())
    if not extra_names:
        return list(fields), rows
    extra = tuple(extra_values)
    return [*fields, *extra_names], [(*row, *extra) for row in rows]


def bulk_insert(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence]
) -> list[int]:
    """Insert `rows` (values in the order of `fields`, no primary key) and return the new
    primary keys in row order. Concrete fields left out get their default (auto_now and
    auto_now_add: the current time), the same for every row."""
    if not rows:
        return []
    fields, rows = _with_defaults(model, fields, rows)
    table = connection.ops.quote_name(model._meta.db_table)
    model_fields = _columns(model, fields)
    pk_column = model._meta.pk.column
    names = ", ".join(connection.ops.quote_name(f.column) for f in model_fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT array_agg(nextval(pg_get_serial_sequence(%s, %s))) "
                "FROM generate_series(1, %s)",
                [model._meta.db_table, pk_column, len(rows)],
            )
            ids = cursor.fetchone()[0]
            raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
            sql = f"COPY {table} ({connection.ops.quote_name(pk_column)}, {names}) FROM STDIN"
            columns = _text_columns(model_fields, rows)
            with raw.copy(sql) as copy:
                write = copy.write_row
                for row in zip(ids, *columns, strict=True):
                    write(row)
            return ids
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = %s", [model._meta.db_table]
            )
            found = cursor.fetchone()
            cursor.execute(f"SELECT MAX({connection.ops.quote_name(pk_column)}) FROM {table}")
            start = max(found[0] if found else 0, cursor.fetchone()[0] or 0) + 1
            ids = list(range(start, start + len(rows)))
            params = list(zip(ids, *_sqlite_columns(model_fields, rows), strict=True))
            placeholders = ", ".join(["?"] * (len(fields) + 1))
            sql = (
                f"INSERT INTO {table} ({connection.ops.quote_name(pk_column)}, {names}) "
                f"VALUES ({placeholders})"
            )
            with _sqlite_cache(cursor):
                # The sqlite3 cursor itself: Django's wrapper re-scans the params (tee) first.
                sqlite3.Cursor.executemany(cursor.cursor, sql, params)
            return ids
    # Any other database: Django's own path.
    objs = model.objects.bulk_create(
        [model(**dict(zip(fields, row, strict=True))) for row in rows], batch_size=2000
    )
    return [obj.pk for obj in objs]


def bulk_update_rows(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[tuple[int, Sequence]]
) -> None:
    """UPDATE `fields` of many rows: `rows` is [(pk, values in the order of fields)]."""
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    model_fields = _columns(model, fields)
    sets = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in model_fields)
    pk = connection.ops.quote_name(model._meta.pk.column)
    keys = [key for key, _values in rows]
    if connection.vendor == "sqlite":
        params = list(zip(*_sqlite_columns(model_fields, [v for _k, v in rows]), keys, strict=True))
    else:
        params = [(*values, key) for key, values in rows]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {sets} WHERE {pk} = %s", params)
