"""Fast bulk writes: PostgreSQL COPY, SQLite executemany, with primary keys handed back.

Django's `bulk_create` builds a model instance per row and a huge VALUES list; for the
100,000-row imports we write here that costs several times more than the data itself
(pitfalls.md: COPY 1M rows ~5 s, bulk_create ~73 s). These helpers take plain tuples.

Call them inside `transaction.atomic()`: ids are reserved up front (PostgreSQL: from the
table's sequence; SQLite: after the highest id ever given, under the write lock that the
project's `transaction_mode=IMMEDIATE` takes at BEGIN).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from datetime import date, datetime

from django.db import connection, models
from django.utils import timezone

from .gcpause import gc_paused

__all__ = [
    "as_db_text",
    "bulk_insert",
    "bulk_update_rows",
    "gc_paused",
    "in_chunks",
    "sequence_values",
    "sqlite_cache",
    "values_in",
]


def sequence_values(sequence: str, count: int) -> list[int]:
    """`count` values from a PostgreSQL sequence (a regclass name), in increasing order.

    One statement: the values come back as their bounds when they are consecutive (the usual
    case: nobody else took values meanwhile), and as an array only when they are not. The
    values one backend's `nextval` returns only grow, so no sort is needed.
    """
    if count <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(n), max(n), CASE WHEN max(n) - min(n) + 1 = count(*) THEN NULL "
            "ELSE array_agg(n) END "
            "FROM (SELECT nextval(%s::regclass) AS n FROM generate_series(1, %s)) s",
            [sequence, count],
        )
        lo, hi, scattered = cursor.fetchone()
    if scattered is not None:
        return sorted(scattered)
    return list(range(lo, hi + 1))


def serial_sequence(model: type[models.Model]) -> str:
    """The name of the sequence behind `model`'s primary key (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_serial_sequence(%s, %s)",
            [model._meta.db_table, model._meta.pk.column],
        )
        return cursor.fetchone()[0]


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
def sqlite_cache(cursor, kib: int = 65536):
    """A bigger page cache while many rows go into indexed tables (default is 2 MB).

    Only the page cache of this connection, for the duration: durability is untouched."""
    cursor.execute("PRAGMA cache_size")
    before = cursor.fetchone()[0]
    cursor.execute(f"PRAGMA cache_size = -{kib}")
    try:
        yield
    finally:
        cursor.execute(f"PRAGMA cache_size = {int(before)}")


def _columns(model: type[models.Model], fields: Sequence[str]) -> list[models.Field]:
    return [model._meta.get_field(name) for name in fields]


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


def _with_defaults(model, fields: Sequence[str], rows: Iterable[Sequence]):
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
    return [*fields, *extra_names], ((*row, *extra) for row in rows)


def _text_row(model_fields: list[models.Field]):
    """A function giving a row with its dates and datetimes as ISO text (memoised per
    distinct value), or None when the model's columns need no conversion."""
    positions = [i for i, f in enumerate(model_fields) if isinstance(f, models.DateField)]
    if not positions:
        return None
    memo: dict = {None: None}

    def text(value):
        try:
            return memo[value]
        except KeyError:
            memo[value] = result = value if isinstance(value, str) else value.isoformat()
            return result

    def convert(row):
        row = list(row)
        for i in positions:
            row[i] = text(row[i])
        return row

    return convert


def as_db_text(value: date | None) -> str | None:
    """A date or an aware datetime as the text this database stores or parses for it.

    Rows handed to `bulk_insert(..., dates_as_text=True)` carry this instead of the object:
    formatting each distinct value once is much cheaper than per row (psycopg formats
    datetime objects at about three times the cost of text).
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime):
        if connection.vendor == "sqlite":
            return connection.ops.adapt_datetimefield_value(value)
        return value.isoformat()
    return value.isoformat()


def bulk_insert(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence],
    *,
    count: int | None = None,
    dates_as_text: bool = False,
    returning: bool = True,
) -> list[int]:
    """Insert `rows` (values in the order of `fields`, no primary key) and return the new
    primary keys in row order. Concrete fields left out get their default (auto_now and
    auto_now_add: the current time), the same for every row.

    `rows` may be an iterator when `count` says how many it yields: on PostgreSQL it is
    consumed while COPY streams, so the work that produces the rows (encrypting, say)
    overlaps with the server's inserting. With `dates_as_text` the date and datetime
    columns already hold `as_db_text` values and are passed through as they are. With
    `returning=False` the database numbers the rows itself and [] is returned.
    """
    if count is None:
        rows = rows if isinstance(rows, Sequence) else list(rows)
        count = len(rows)
    if not count:
        return []
    fields, rows = _with_defaults(model, fields, rows)
    table = connection.ops.quote_name(model._meta.db_table)
    model_fields = _columns(model, fields)
    pk_column = model._meta.pk.column
    names = ", ".join(connection.ops.quote_name(f.column) for f in model_fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if returning:
                ids = sequence_values(serial_sequence(model), count)
                sql = f"COPY {table} ({connection.ops.quote_name(pk_column)}, {names}) FROM STDIN"
            else:
                ids = None
                sql = f"COPY {table} ({names}) FROM STDIN"
            raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
            convert = None if dates_as_text else _text_row(model_fields)
            source = iter(rows)
            written = 0
            with raw.copy(sql) as copy:
                write = copy.write_row
                if ids is None:
                    for row in source:
                        write(convert(row) if convert else row)
                        written += 1
                else:
                    # zip stops after `count` ids without reading a further row from `source`.
                    for pk, row in zip(ids, source, strict=False):
                        write((pk, *(convert(row) if convert else row)))
                        written += 1
                if written != count or next(source, None) is not None:
                    raise ValueError(f"bulk_insert: the rows do not match count={count}")
            return ids or []
        rows = rows if isinstance(rows, list) else list(rows)
        if len(rows) != count:
            raise ValueError(f"bulk_insert: {len(rows)} rows given, {count} announced")
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = %s", [model._meta.db_table]
            )
            found = cursor.fetchone()
            cursor.execute(f"SELECT MAX({connection.ops.quote_name(pk_column)}) FROM {table}")
            start = max(found[0] if found else 0, cursor.fetchone()[0] or 0) + 1
            ids = list(range(start, start + len(rows)))
            if dates_as_text:
                params = [(pk, *row) for pk, row in zip(ids, rows, strict=True)]
            else:
                params = list(zip(ids, *_sqlite_columns(model_fields, rows), strict=True))
            placeholders = ", ".join(["?"] * (len(fields) + 1))
            sql = (
                f"INSERT INTO {table} ({connection.ops.quote_name(pk_column)}, {names}) "
                f"VALUES ({placeholders})"
            )
            with sqlite_cache(cursor):
                # The sqlite3 cursor itself: Django's wrapper re-scans the params (tee) first.
                sqlite3.Cursor.executemany(cursor.cursor, sql, params)
            return ids if returning else []
    # Any other database: Django's own path.
    objs = model.objects.bulk_create(
        [model(**dict(zip(fields, row, strict=True))) for row in rows], batch_size=2000
    )
    return [obj.pk for obj in objs] if returning else []


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
