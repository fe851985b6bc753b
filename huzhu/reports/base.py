"""The shape every report shares, and the few SQL expressions the aggregates need.

A report is a list of tables; each table has typed columns (so the same figures render as a
text table, JSON, an .xlsx sheet with a native chart, and an ECharts chart in the browser),
rows of plain values (money in integer fen, ratios as Decimal) and an optional total row.
Reports read, never write; every figure is aggregated in the database (GROUP BY), never by
walking claims in Python.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models

__all__ = [
    "Chart",
    "Column",
    "Report",
    "ReportError",
    "Scope",
    "Table",
    "ratio",
]


class ReportError(ValueError):
    """A report that cannot be made as asked (unknown name, dimension, year or union)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: str = "text"  # text | int | money (fen) | ratio (Decimal share) | days | date


@dataclass(frozen=True)
class Chart:
    """A chart of a table: `kind` bar | line | pie | stacked; x = a column key (categories),
    series = column keys of values; `percent` when the values are ratios."""

    kind: str
    x: str
    series: tuple[str, ...]
    title: str = ""
    horizontal: bool = False


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[dict]
    total: dict | None = None
    chart: Chart | None = None
    note: str = ""


@dataclass
class Report:
    name: str
    title: str
    year: int
    by: str | None
    union_code: str | None
    tables: list[Table] = field(default_factory=list)
    note: str = ""

    def table(self, key: str) -> Table:
        for t in self.tables:
            if t.key == key:
                return t
        raise KeyError(key)


@dataclass(frozen=True)
class Scope:
    """What a report covers: one scheme year, and the unions (None = all) it may show.

    `union_ids` is the chosen union's subtree, intersected with what the user may see
    (an operator's own subtree); `union_code` is the chosen union (for titles), or None.
    """

    year: int
    scheme_year_id: int
    union_ids: frozenset[int] | None
    union_code: str | None = None
    today: dt.date | None = None

    def unions(self, qs, field_name: str = "union_id"):
        if self.union_ids is None:
            return qs
        return qs.filter(**{f"{field_name}__in": self.union_ids})


def ratio(part: int, whole: int) -> Decimal | None:
    """part / whole to 4 decimals (half up); None when whole is 0."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _offset_minutes() -> int:
    """The time zone's offset from UTC now, in minutes (Asia/Shanghai: 480, no DST)."""
    now = dt.datetime.now(ZoneInfo(settings.TIME_ZONE))
    return int(now.utcoffset().total_seconds() // 60)


def _pg_local(sql: str) -> str:
    """`sql` (a timestamptz) as local wall-clock time (a timestamp) on PostgreSQL, shifted by
    the fixed offset like SQLite's `'+480 minutes'`. `AT TIME ZONE 'Asia/Shanghai'` looks the
    zone's rules up per row and doubled the time of a month's GROUP BY over a million claims;
    an interval is one addition."""
    minutes = _offset_minutes()
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"(({sql}) AT TIME ZONE INTERVAL '{sign}{hours:02d}:{mins:02d}')"


class DateMonth(models.Func):
    """'YYYY-MM' of a date column."""

    output_field = models.CharField()
    arity = 1

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"strftime('%%Y-%%m', {sql})", params

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"to_char({sql}, 'YYYY-MM')", params


def nearest_rank(histogram: list[tuple[int, int]], p: int) -> int | None:
    """The p-th percentile (nearest-rank: the smallest value with at least p% of the values at
    or below it) of a histogram [(value, count)] sorted by value. p=50 is the median."""
    n = sum(c for _, c in histogram)
    if n == 0:
        return None
    rank = max(1, -(-p * n // 100))  # ceil(p/100 * n)
    seen = 0
    for value, count in histogram:
        seen += count
        if seen >= rank:
            return value
    return histogram[-1][0]  # pragma: no cover - seen reaches n
