"""Writing polars frames into tables: PostgreSQL COPY (binary), SQLite executemany.

`huzhu.core.bulk.bulk_insert` takes Python tuples; an import of a million rows already holds
them as polars columns, and turning those into tuples costs more than the COPY itself. Here
each slice is cast to the exact types of the table's columns and encoded in PostgreSQL's
binary COPY format (pgpq, from the slice's Arrow form): the server then parses no text at
all. Against CSV, a million settlement records cost the server ~0.8 s less and a million
claims ~1.7 s less (timestamps, dates and numbers are the costly text to parse). A table
with a column type that has no binary form here (numeric, uuid, ...) is written as CSV.
Call inside `transaction.atomic()`.

Frames must hold database-ready columns: Int64, Boolean, String, Date; datetimes as text
from `db_datetime(value)` (the same instant on both databases).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import datetime

import polars as pl
from django.db import connection, models
from pgpq import ArrowToPostgresBinaryEncoder
from psycopg.copy import QueuedLibpqWriter

from huzhu.core.bulk import sequence_values, serial_sequence

__all__ = ["db_datetime", "fill_defaults", "reserve_ids", "frame_insert"]

COPY_CHUNK_ROWS = 50_000
SQLITE_CHUNK_ROWS = 50_000


def db_datetime(value: datetime) -> str:
    """An aware datetime as the text this database stores for it."""
    if connection.vendor == "postgresql":
        return value.isoformat()
    return connection.ops.adapt_datetimefield_value(value)


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` new primary keys for `model` (call inside the writing transaction).

    PostgreSQL: from the table's sequence. SQLite: after the highest id ever given (the
    IMMEDIATE transaction holds the write lock, so nobody else takes them).
    """
    if count <= 0:
        return []
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            return sequence_values(serial_sequence(model), count)
        qn = connection.ops.quote_name
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        found = cursor.fetchone()
        cursor.execute(f"SELECT MAX({qn(pk)}) FROM {qn(table)}")
        start = max(found[0] if found else 0, cursor.fetchone()[0] or 0) + 1
        if found:
            cursor.execute(
                "UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [start + count - 1, table]
            )
        else:
            cursor.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)",
                [table, start + count - 1],
            )
        return list(range(start, start + count))


def _columns(model: type[models.Model], names: list[str]) -> list[str]:
    out = []
    for name in names:
        if name == "id":
            out.append(model._meta.pk.column)
        else:
            out.append(model._meta.get_field(name).column)
    return out


def _binary_cast(column: str, db_type: str, dtype: pl.DataType) -> pl.Expr | None:
    """The expression giving `column` the Arrow type whose binary COPY form the PostgreSQL
    column type `db_type` reads, or None when there is none here.

    Binary COPY does not convert: an `integer` column needs 4-byte values, a `jsonb` one its
    version byte before the text. Datetimes arrive as `db_datetime` text (ISO 8601 with
    offset) and are parsed here, once per slice, instead of by the server once per row."""
    col = pl.col(column)
    base = db_type.split("(", 1)[0].strip()
    if base == "bigint":
        return col.cast(pl.Int64)
    if base == "integer":
        return col.cast(pl.Int32)
    if base == "smallint":
        return col.cast(pl.Int16)
    if base == "boolean":
        return col.cast(pl.Boolean)
    if base in ("varchar", "text", "json"):
        return col.cast(pl.String)
    if base == "jsonb":
        return pl.lit("\x01") + col.cast(pl.String)  # jsonb's binary form: version 1, text
    if base == "date":
        return col.str.to_date("%Y-%m-%d") if dtype == pl.String else col.cast(pl.Date)
    if base == "timestamp with time zone":
        if dtype == pl.String:
            return col.str.to_datetime(time_unit="us", time_zone="UTC")
        if dtype == pl.Null:
            return col.cast(pl.Datetime("us", "UTC"))
        if isinstance(dtype, pl.Datetime) and dtype.time_zone:
            return col.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        return None
    return None


def _binary_columns(model: type[models.Model], names: list[str], schema) -> list[pl.Expr] | None:
    """Per frame column, its cast for binary COPY into `model`'s table; None: use CSV."""
    out = []
    for name in names:
        field = model._meta.pk if name == "id" else model._meta.get_field(name)
        db_type = field.db_type(connection)  # a foreign key's is its target's
        cast = _binary_cast(name, db_type, schema[name]) if db_type else None
        if cast is None:
            return None
        out.append(cast.alias(name))
    return out


def _sql_literal(value) -> str | None:
    """`value` as an SQLite literal, or None when it is better bound."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and "\x00" not in value:  # SQL text cannot hold NUL
        return "'" + value.replace("'", "''") + "'"
    return None


def _constant(series: pl.Series) -> bool:
    """Whether every value of `series` is the same (all NULL counts); no hashing."""
    nulls = series.null_count()
    if nulls:
        return nulls == series.len()
    if series.dtype.is_nested():
        return series.n_unique() == 1
    return bool((series == series[0]).all())


def _sqlite_insert(table: str, columns: list[str], chunk: pl.DataFrame) -> tuple[str, list[str]]:
    """The INSERT for one slice, and the frame columns it binds per row.

    A column holding one value over the whole slice (a status, `now`, an empty text: about
    half of a claim's forty) is written as a literal in the statement instead of being turned
    into a Python object and bound for every row."""
    qn = connection.ops.quote_name
    values, bound = [], []
    constant = {name: _constant(chunk.get_column(name)) for name in chunk.columns}
    many = chunk.height > 1 and not all(constant.values())
    for name in chunk.columns:
        series = chunk.get_column(name)
        literal = _sql_literal(series[0]) if many and constant[name] else None
        if literal is None:
            values.append("%s")
            bound.append(name)
        else:
            values.append(literal.replace("%", "%%"))
    sql_cols = ", ".join(qn(c) for c in columns)
    return f"INSERT INTO {table} ({sql_cols}) VALUES ({', '.join(values)})", bound


def _sqlite_stage(cursor, model, table: str, columns: list[str]) -> str:
    """SQLite: the staging table for a table with triggers (else "").

    A statement on a table with triggers runs in its own statement journal, which copies every
    page the statement changes; one INSERT per row (executemany) pays that for each row (~20 µs
    a claim with the reports' rollup triggers, even when they stand aside). Rows go first to an
    empty temporary table without triggers or indexes, then into the table by one
    INSERT … SELECT per slice."""
    cursor.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s "
        "UNION ALL SELECT 1 FROM sqlite_temp_master WHERE type = 'trigger' AND tbl_name = %s",
        [model._meta.db_table] * 2,
    )
    if cursor.fetchone() is None:
        return ""
    qn = connection.ops.quote_name
    stage = qn(f"huzhu_stage_{model._meta.db_table}")
    cols = ", ".join(qn(c) for c in columns)
    cursor.execute(f"DROP TABLE IF EXISTS temp.{stage}")
    cursor.execute(f"CREATE TEMP TABLE {stage} AS SELECT {cols} FROM {table} WHERE 0")
    return f"temp.{stage}"


def frame_insert(
    model: type[models.Model],
    frame: pl.DataFrame,
    transform: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> int:
    """Insert every row of `frame` (columns named after model fields, `id` included when the
    ids were reserved) into `model`'s table. `transform`, when given, turns each slice into
    those columns just before it is written, so derived text (JSON, explanations) never exists
    for the whole frame at once. Returns the number of rows written."""
    if frame.height == 0:
        return 0
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    step = COPY_CHUNK_ROWS if connection.vendor == "postgresql" else SQLITE_CHUNK_ROWS
    names: list[str] | None = None
    binary: list[pl.Expr] | None = None
    encoder = None
    stage: str | None = None  # SQLite: "" to insert directly, else the staging table
    written = 0
    with connection.cursor() as cursor:
        copy_cm = None
        copy = None
        try:
            for start in range(0, frame.height, step):
                chunk = frame.slice(start, step)
                if transform is not None:
                    chunk = transform(chunk)
                if names is None:
                    names = list(chunk.columns)
                    sql_cols = ", ".join(qn(c) for c in _columns(model, names))
                    if connection.vendor == "postgresql":
                        binary = _binary_columns(model, names, chunk.schema)
                        # Queued: a psycopg thread sends while this one formats the next
                        # slice (polars and pgpq release the GIL), so the server never
                        # waits for us.
                        copy_cm = cursor.cursor.copy(
                            f"COPY {table} ({sql_cols}) FROM STDIN WITH (FORMAT "
                            f"{'binary' if binary else 'csv'})",
                            writer=QueuedLibpqWriter(cursor.cursor),
                        )
                        copy = copy_cm.__enter__()
                if binary is not None:
                    table_slice = chunk.select(binary).to_arrow()
                    if encoder is None:
                        encoder = ArrowToPostgresBinaryEncoder(table_slice.schema)
                        copy.write(encoder.write_header())
                    for batch in table_slice.to_batches():
                        copy.write(encoder.write_batch(batch))
                elif copy is not None:
                    buf = io.BytesIO()
                    chunk.select(names).write_csv(
                        buf, include_header=False, quote_style="necessary"
                    )
                    copy.write(buf.getbuffer())
                else:
                    chunk = chunk.select(names).with_columns(
                        [pl.col(c).cast(pl.String) for c, t in chunk.schema.items() if t == pl.Date]
                    )
                    columns = _columns(model, names)
                    if stage is None:
                        stage = _sqlite_stage(cursor, model, table, columns)
                    insert, bound = _sqlite_insert(stage or table, columns, chunk)
                    cursor.executemany(insert, chunk.select(bound).rows())
                    if stage:
                        cols = ", ".join(qn(c) for c in columns)
                        cursor.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage}")
                        cursor.execute(f"DELETE FROM {stage}")
                written += chunk.height
        except BaseException as exc:
            if copy_cm is not None:
                copy_cm.__exit__(type(exc), exc, exc.__traceback__)
                copy_cm = None
            raise
        finally:
            if copy_cm is not None:
                if encoder is not None:
                    copy.write(encoder.finish())
                copy_cm.__exit__(None, None, None)
    return written


def fill_defaults(model: type[models.Model], frame: pl.DataFrame, now_db: str) -> pl.DataFrame:
    """Add every concrete column the frame lacks: its default, NULL, or `now` for auto dates."""
    extra = []
    for f in model._meta.concrete_fields:
        if f.primary_key or f.name in frame.columns or f.attname in frame.columns:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            extra.append(pl.lit(now_db).alias(f.name))
        elif f.has_default():
            value = f.get_default()
            if isinstance(f, models.JSONField):
                extra.append(
                    pl.lit(json.dumps(value, separators=(",", ":"), ensure_ascii=False)).alias(
                        f.name
                    )
                )
            elif isinstance(value, bool):
                extra.append(pl.lit(value, dtype=pl.Boolean).alias(f.name))
            elif isinstance(value, int):
                extra.append(pl.lit(value, dtype=pl.Int64).alias(f.name))
            else:
                extra.append(pl.lit(value, dtype=pl.String).alias(f.name))
        elif f.null:
            continue
        elif isinstance(f, models.CharField | models.TextField) and f.blank:
            extra.append(pl.lit("").alias(f.name))
        else:
            raise RuntimeError(f"bulk write of {model.__name__}: no value for {f.name}")
    return frame.with_columns(extra) if extra else frame
