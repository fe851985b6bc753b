"""Settlement-record fields: our names and the national medical-insurance platform's.

Pure mapping from a table of text cells (a file, a push payload) to canonical records,
row by row (`records_from_rows`, `record_from_mapping`) or over a polars frame
(`records_frame`). Both give the same values; the settlement import reuses them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import NamedTuple

import polars as pl

from .amounts import SPACES, parse_amount, with_amount, with_amounts

__all__ = [
    "CANONICAL_FIELDS",
    "AMOUNT_FIELDS",
    "NATIONAL_NAMES",
    "REQUIRED_FIELDS",
    "SETTLEMENT_HEADERS",
    "ColumnPlan",
    "Amount",
    "AmountColumn",
    "RecordColumns",
    "SettlementRecord",
    "RecordsFormatError",
    "cell_text",
    "column_plan",
    "read_columns",
    "record_from_mapping",
    "records_from_rows",
    "records_frame",
]

CANONICAL_FIELDS = (
    "settlement_id",
    "id_number",
    "name",
    "hospital",
    "hospital_code",
    "hospital_level",
    "admit_date",
    "discharge_date",
    "total_cost",
    "fund_paid",
    "self_pay_in_policy",
    "self_pay_out_policy",
    "diagnosis_code",
    "out_of_area",
    "reverses",
    "visit_id",
)
AMOUNT_FIELDS = ("total_cost", "fund_paid", "self_pay_in_policy", "self_pay_out_policy")
REQUIRED_FIELDS = ("settlement_id", "id_number", "admit_date", "discharge_date")

# National platform name -> our name (domain.md "Settlement records").
NATIONAL_NAMES = {
    "setl_id": "settlement_id",
    "certno": "id_number",
    "psn_name": "name",
    "fixmedins_name": "hospital",
    "hosp_lv": "hospital_level",
    "begndate": "admit_date",
    "enddate": "discharge_date",
    "medfee_sumamt": "total_cost",
    "fund_pay_sumamt": "fund_paid",
    "mdtrt_id": "visit_id",
    "fixmedins_code": "hospital_code",
    "diag_code": "diagnosis_code",
}
# Derived amounts: field -> (operator, left column, right column).
DERIVED = {
    "self_pay_out_policy": ("+", "fulamt_ownpay_amt", "overlmt_selfpay"),
    "self_pay_in_policy": ("-", "inscp_scp_amt", "fund_pay_sumamt"),
}
REVERSAL_FLAG = "refd_setl_flag"
# Every header a settlement file may name, for finding the header row under title rows
# (`huzhu.core.tabular.read_frame(aliases=...)`); the columns keep the file's names.
SETTLEMENT_HEADERS = {
    name: name
    for name in (
        *CANONICAL_FIELDS,
        *NATIONAL_NAMES,
        *(part for _, left, right in DERIVED.values() for part in (left, right)),
        REVERSAL_FLAG,
    )
}
_EMPTY: Mapping = MappingProxyType({})


class RecordsFormatError(ValueError):
    """The file as a whole cannot be read as settlement records (e.g. a missing column)."""

    code = "bad_columns"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ColumnPlan:
    """Where each canonical field comes from in one file's header."""

    columns: dict[str, str]  # canonical field -> source column
    derived: dict[str, tuple[str, str, str]]  # amount field -> (op, left, right)
    reversal_flag: str | None  # the national refund flag column, if present

    def has(self, name: str) -> bool:
        return name in self.columns or name in self.derived

    @cached_property
    def sources(self) -> dict[str, str]:
        """Canonical field -> the column(s) it comes from, for messages."""
        return {n: self.source(n) for n in CANONICAL_FIELDS if self.has(n)}

    def source(self, name: str) -> str:
        if name in self.columns:
            return self.columns[name]
        if name in self.derived:
            op, left, right = self.derived[name]
            return f"{left}{'+' if op == '+' else '−'}{right}"
        return name


def _key(name: str) -> str:
    return name.strip().lstrip("\ufeff").lower()


def column_plan(header: Sequence[str], *, need: Iterable[str] = ()) -> ColumnPlan:
    """Map a header to canonical fields; raises RecordsFormatError if a needed one is missing.

    Our names win over the national ones; amounts missing under both are derived from the
    national components when those are present.
    """
    present = {_key(h): h for h in header}
    columns: dict[str, str] = {}
    for name in CANONICAL_FIELDS:
        if name in present:
            columns[name] = present[name]
    for national, name in NATIONAL_NAMES.items():
        if name not in columns and national in present:
            columns[name] = present[national]
    derived = {}
    for name, (op, left, right) in DERIVED.items():
        if name not in columns and left in present and right in present:
            derived[name] = (op, present[left], present[right])
    plan = ColumnPlan(columns, derived, present.get(REVERSAL_FLAG))
    missing = [n for n in (*REQUIRED_FIELDS, *need) if not plan.has(n)]
    if missing:
        hints = []
        for n in missing:
            alias = [k for k, v in NATIONAL_NAMES.items() if v == n]
            if n in DERIVED:
                op, left, right = DERIVED[n]
                hints.append(f"{n}（或 {left} 与 {right}）")
            else:
                hints.append(f"{n}（或 {alias[0]}）" if alias else n)
        raise RecordsFormatError("结算文件缺少必需的列：" + "、".join(hints))
    return plan


class Amount(NamedTuple):
    """A parsed amount: `fen`, or `error` (a code) naming `source`, the column at fault."""

    fen: int | None
    error: str | None
    source: str


class SettlementRecord(NamedTuple):
    """One settlement record in our field names. Text fields are trimmed, not validated."""

    row: int
    settlement_id: str
    id_number: str
    admit_date: str
    discharge_date: str
    diagnosis_code: str = ""
    is_reversal: bool = False
    reverses: str = ""
    visit_id: str = ""
    amounts: Mapping[str, Amount] = _EMPTY
    text: Mapping[str, str] = _EMPTY  # other fields (name, hospital…)
    sources: Mapping[str, str] = _EMPTY  # field -> source column

    def amount(self, name: str) -> Amount:
        return self.amounts.get(name) or Amount(None, "empty", self.sources.get(name, name))


class AmountColumn(NamedTuple):
    """One amount field over many rows: fen per row, None where it could not be read;
    for those rows `errors` gives (error code, the column at fault)."""

    fen: list[int | None]
    errors: dict[int, tuple[str, str]]  # row position -> (error code, source column)
    source: str  # where a good amount came from ("left−right" for a derived one)

    def at(self, i: int) -> Amount:
        fen = self.fen[i]
        if fen is None:
            code, source = self.errors[i]
            return Amount(None, code, source)
        return Amount(fen, None, self.source)


class RecordColumns(NamedTuple):
    """Settlement records as parallel lists in file order: what the row engine reads.

    Text is trimmed (except the ID numbers: their check ignores spaces, so each distinct
    cell is trimmed there only if it fails), not validated; a national refund row already
    names the record it cancels in `reverses` when one was found.
    """

    row: Sequence[int]  # 1-based data row numbers
    settlement_id: list[str]
    id_number: Sequence[str | None]  # the cells as read: `cell_text` trims one
    admit_date: list[str]
    discharge_date: list[str]
    diagnosis_code: list[str]
    is_reversal: list[bool]
    reverses: list[str]
    amounts: dict[str, AmountColumn]
    sources: Mapping[str, str]  # field -> source column, for messages


def cell_text(value: object) -> str:
    """A cell as trimmed text ("" for an empty cell)."""
    if value is None:
        return ""
    return (value if isinstance(value, str) else str(value)).strip(SPACES)


class _Trimmed(dict):
    """cell -> trimmed text, trimming each distinct cell once."""

    def __missing__(self, value: object) -> str:
        text = self[value] = cell_text(value)
        return text


def _texts(values: Sequence[object], *, repeated: bool = False) -> list[str]:
    """`cell_text` of every cell. A `repeated` column (ID numbers, dates, codes) is trimmed
    once per distinct cell and its rows share one string."""
    try:
        if repeated:
            return list(map(_Trimmed().__getitem__, values))
        return [v.strip(SPACES) for v in values]
    except (AttributeError, TypeError):  # an empty or non-text cell, or an unhashable one
        return [cell_text(v) for v in values]


def _parsed(values: Sequence[object], source: str) -> tuple[list[int | None], dict]:
    fens: list[int | None] = []
    errors: dict[int, tuple[str, str]] = {}
    append = fens.append
    for i, value in enumerate(values):
        fen, error = parse_amount(value if value is None or isinstance(value, str) else str(value))
        append(fen)
        if error is not None:
            errors[i] = (error, source)
    return fens, errors


def _read_amount(
    cells: Callable[[str], Sequence[object]],
    plan: ColumnPlan,
    name: str,
    rows: Sequence[int] | None = None,
) -> AmountColumn:
    """Amount field `name` of every row (or only of `rows`, positions then follow `rows`)."""

    def values(column: str) -> Sequence[object]:
        got = cells(column)
        return got if rows is None else [got[i] for i in rows]

    if name in plan.columns:
        col = plan.columns[name]
        return AmountColumn(*_parsed(values(col), col), col)
    op, left, right = plan.derived[name]
    lf, lerr = _parsed(values(left), left)
    rf, rerr = _parsed(values(right), right)
    if op == "+":
        fens = [None if a is None or b is None else a + b for a, b in zip(lf, rf, strict=True)]
    else:
        fens = [None if a is None or b is None else a - b for a, b in zip(lf, rf, strict=True)]
    rerr.update(lerr)  # the left column's error is reported first
    return AmountColumn(fens, rerr, plan.source(name))


def _refund_targets(
    cells: Callable[[str], Sequence[object]],
    plan: ColumnPlan,
    settlement_ids: list[str],
    is_reversal: list[bool],
    refunds: list[int],
    amounts: Mapping[str, AmountColumn],
) -> dict[int, str]:
    """National refund rows -> the settlement id each cancels: the first non-refund record
    of the same visit (`mdtrt_id`) whose total it negates. Refunds are few, so only the
    rows of their visits are looked at."""
    if "visit_id" not in plan.columns:
        return {}
    visits = _texts(cells(plan.columns["visit_id"]))
    wanted = {visits[i] for i in refunds} - {""}
    if not wanted:
        return {}
    rows = [i for i, visit in enumerate(visits) if visit in wanted]
    if "total_cost" in amounts:
        totals = amounts["total_cost"]
        total_of = {i: totals.fen[i] for i in rows}
    elif plan.has("total_cost"):
        totals = _read_amount(cells, plan, "total_cost", rows)
        total_of = dict(zip(rows, totals.fen, strict=True))
    else:
        total_of = None  # matched on the visit alone
    is_refund = set(refunds)

    def key(i: int) -> tuple[str, int | None] | None:
        if total_of is None:
            return (visits[i], None)
        total = total_of[i]
        if total is None:
            return None
        return (visits[i], -total if i in is_refund else total)

    originals: dict[tuple[str, int | None], str] = {}
    for i in rows:
        if not is_reversal[i] and settlement_ids[i]:
            k = key(i)
            if k is not None:
                originals.setdefault(k, settlement_ids[i])
    targets = {}
    for i in refunds:
        k = key(i) if visits[i] else None
        if k is not None and k in originals:
            targets[i] = originals[k]
    return targets


def _raw_ids(values: Sequence[object]) -> Sequence[str | None]:
    if set(map(type, values)) <= {str, type(None)}:
        return values
    return _texts(values)  # numbers or other objects: as text


def read_columns(
    cells: Callable[[str], Sequence[object]],
    plan: ColumnPlan,
    *,
    amount_fields: Iterable[str] = AMOUNT_FIELDS,
) -> RecordColumns:
    """Records of a whole table, given `cells(column)`: that column's cells in file order.

    A national refund row (`refd_setl_flag`=1) without our `reverses` cancels the first
    non-refund record of the same visit (`mdtrt_id`) whose total it negates; if there is
    none it stays a reversal with `reverses=""` (flagged for a reviewer).
    """
    cols = plan.columns
    settlement_ids = _texts(cells(cols["settlement_id"]))
    height = len(settlement_ids)

    def text(name: str, repeated: bool = True) -> list[str]:
        column = cols.get(name)
        return [""] * height if column is None else _texts(cells(column), repeated=repeated)

    reverses = text("reverses", repeated=False)
    if plan.reversal_flag:
        flags = _texts(cells(plan.reversal_flag), repeated=True)
        is_reversal = [bool(r) or f == "1" for r, f in zip(reverses, flags, strict=True)]
    else:
        is_reversal = [bool(r) for r in reverses]
    amounts = {n: _read_amount(cells, plan, n) for n in amount_fields if plan.has(n)}
    if plan.reversal_flag:
        refunds = [i for i, r in enumerate(reverses) if not r and is_reversal[i]]
        if refunds:
            targets = _refund_targets(cells, plan, settlement_ids, is_reversal, refunds, amounts)
            for i, target in targets.items():
                reverses[i] = target
    return RecordColumns(
        row=range(1, height + 1),
        settlement_id=settlement_ids,
        id_number=_raw_ids(cells(cols["id_number"])),
        admit_date=text("admit_date"),
        discharge_date=text("discharge_date"),
        diagnosis_code=text("diagnosis_code"),
        is_reversal=is_reversal,
        reverses=reverses,
        amounts=amounts,
        sources=plan.sources,
    )


_TEXT_ONLY_FIELDS = ("name", "hospital", "hospital_code", "hospital_level", "out_of_area")


def records_from_rows(
    rows: Iterable[Mapping[str, object]],
    plan: ColumnPlan,
    *,
    amount_fields: Iterable[str] = AMOUNT_FIELDS,
    with_text: bool = True,
) -> list[SettlementRecord]:
    """`read_columns` of rows given as mappings, as one record per row (`row` = 1-based
    data row). The total is read too when refunds may need it."""
    rows = list(rows)
    fields = [f for f in amount_fields if plan.has(f)]
    if plan.reversal_flag and "total_cost" not in fields and plan.has("total_cost"):
        fields.append("total_cost")

    def cells(column: str) -> list[object]:
        return [r.get(column) for r in rows]

    c = read_columns(cells, plan, amount_fields=fields)
    visits = _texts(cells(plan.columns["visit_id"])) if "visit_id" in plan.columns else None
    texts = [(n, _texts(cells(plan.columns[n]))) for n in _TEXT_ONLY_FIELDS if n in plan.columns]
    out = []
    for i in range(len(rows)):
        out.append(
            SettlementRecord(
                row=c.row[i],
                settlement_id=c.settlement_id[i],
                id_number=cell_text(c.id_number[i]),
                admit_date=c.admit_date[i],
                discharge_date=c.discharge_date[i],
                diagnosis_code=c.diagnosis_code[i],
                is_reversal=c.is_reversal[i],
                reverses=c.reverses[i],
                visit_id=visits[i] if visits else "",
                amounts={n: a.at(i) for n, a in c.amounts.items()},
                text={n: t[i] for n, t in texts} if with_text and texts else _EMPTY,
                sources=c.sources,
            )
        )
    return out


def record_from_mapping(
    row: Mapping[str, object],
    plan: ColumnPlan,
    *,
    row_number: int = 0,
    amount_fields: Iterable[str] = AMOUNT_FIELDS,
    with_text: bool = True,
) -> SettlementRecord:
    """One record (a file row or a push payload). A national refund row comes back with
    `is_reversal=True` and `reverses=""`: finding the record it cancels needs the other
    records of the same visit (`records_from_rows`, or the database)."""
    fields = [f for f in amount_fields if plan.has(f)]
    (record,) = records_from_rows([row], plan, amount_fields=fields, with_text=with_text)
    return record._replace(row=row_number)


# --- polars -----------------------------------------------------------------------------


def _text(plan: ColumnPlan, name: str) -> pl.Expr:
    col = plan.columns.get(name)
    if col is None:
        return pl.lit("", dtype=pl.String).alias(name)
    return pl.col(col).fill_null("").str.strip_chars(SPACES).alias(name)


_TEXT_FIELDS = (
    "settlement_id",
    "id_number",
    "admit_date",
    "discharge_date",
    "diagnosis_code",
    "reverses",
    "visit_id",
)


def _amount_columns(lf: pl.LazyFrame, plan: ColumnPlan, name: str) -> pl.LazyFrame:
    """Add `<name>_fen`, `<name>_err`, `<name>_src` (same values as `_amount`)."""
    if name in plan.columns:
        col = plan.columns[name]
        lf = with_amount(lf, col, out=f"{name}_fen", err=f"{name}_err")
        return lf.with_columns(pl.lit(col).alias(f"{name}_src"))
    op, left, right = plan.derived[name]
    lf = with_amounts(lf, [(left, "__l_fen", "__l_err"), (right, "__r_fen", "__r_err")])
    lf_fen, rf_fen = pl.col("__l_fen"), pl.col("__r_fen")
    return lf.with_columns(
        (lf_fen + rf_fen if op == "+" else lf_fen - rf_fen).alias(f"{name}_fen"),
        pl.coalesce(pl.col("__l_err"), pl.col("__r_err")).alias(f"{name}_err"),
        # The column at fault, looked up in a three-entry table (no text per row built).
        pl.lit(pl.Series([plan.source(name), left, right], dtype=pl.String))
        .gather(
            pl.when(pl.col("__l_err").is_not_null())
            .then(1)
            .when(pl.col("__r_err").is_not_null())
            .then(2)
            .otherwise(0)
        )
        .alias(f"{name}_src"),
    ).drop("__l_fen", "__l_err", "__r_fen", "__r_err")


def used_columns(header: Sequence[str], *, amount_fields: Iterable[str]) -> list[str]:
    """The source columns `records_frame` reads for these amount fields (others can be
    left unparsed when reading a big file)."""
    plan = column_plan(header)
    used = {plan.columns[n] for n in _TEXT_FIELDS if n in plan.columns}
    fields = list(amount_fields)
    if plan.reversal_flag:
        used.add(plan.reversal_flag)
        fields.append("total_cost")
    for name in fields:
        if name in plan.columns:
            used.add(plan.columns[name])
        elif name in plan.derived:
            used.update(plan.derived[name][1:])
    return [h for h in header if h in used]


def records_frame(
    frame: pl.DataFrame | pl.LazyFrame,
    plan: ColumnPlan,
    *,
    amount_fields: Iterable[str] = AMOUNT_FIELDS,
) -> pl.LazyFrame:
    """Vectorised `records_from_rows` over a frame of text columns, in file order.

    Columns out: row, settlement_id, id_number, admit_date, discharge_date,
    diagnosis_code, is_reversal, reverses, visit_id, and per requested amount field
    `<f>_fen`, `<f>_err`, `<f>_src`. Lazy: a caller that selects a few columns only
    pays for those.
    """
    fields = [f for f in amount_fields if plan.has(f)]
    flag = (
        pl.col(plan.reversal_flag).fill_null("").str.strip_chars(SPACES) == "1"
        if plan.reversal_flag
        else pl.lit(False)
    )
    src = frame.lazy().with_row_index("row", offset=1).with_columns(pl.col("row").cast(pl.Int64))
    source_cols = [c for c in src.collect_schema().names() if c != "row"]
    lf = src.with_columns(
        *[_text(plan, n).alias(f"__c_{n}") for n in _TEXT_FIELDS], flag.alias("__flag")
    )
    for name in fields:
        lf = _amount_columns(lf, plan, name)
    out = lf.drop(source_cols).rename({f"__c_{n}": n for n in _TEXT_FIELDS})
    out = out.with_columns(
        ((pl.col("reverses") != "") | pl.col("__flag")).alias("is_reversal")
    ).drop("__flag")
    if not plan.reversal_flag:
        return out
    matched = _frame_refund_targets(src, plan, flag)
    if matched.height == 0:
        return out
    target = pl.col("row").replace_strict(
        matched["row"], matched["__target"], default="", return_dtype=pl.String
    )
    return out.with_columns(
        pl.when(pl.col("reverses") == "")
        .then(target)
        .otherwise(pl.col("reverses"))
        .alias("reverses")
    )


def _frame_refund_targets(src: pl.LazyFrame, plan: ColumnPlan, flag: pl.Expr) -> pl.DataFrame:
    """National refunds name no target: the first non-refund record of the same visit
    whose total it negates. Refunds are few, so only their visits are looked at.
    Returns (row, __target) of each refund row that found its record."""
    reverses, visit = _text(plan, "reverses"), _text(plan, "visit_id")
    refunds = (
        src.filter(flag)
        .select(visit, reverses)
        .filter((pl.col("reverses") == "") & (pl.col("visit_id") != ""))
        .collect(engine="in-memory")
    )
    if refunds.height == 0:
        return pl.DataFrame(schema={"row": pl.Int64, "__target": pl.String})
    visits = refunds["visit_id"].unique().implode()
    candidates = (
        src.filter(visit.is_in(visits))
        .with_columns(
            visit.alias("__visit"),
            reverses.alias("__reverses"),
            _text(plan, "settlement_id").alias("__sid"),
            flag.alias("__refund"),  # is_reversal, as `reverses` is empty here
        )
        .filter((pl.col("__reverses") == "") & (pl.col("__sid") != ""))
    )
    if plan.has("total_cost"):
        total = pl.col("total_cost_fen")
        candidates = (
            _amount_columns(candidates, plan, "total_cost")
            .filter(total.is_not_null())
            .with_columns(pl.when(pl.col("__refund")).then(-total).otherwise(total).alias("__key"))
        )
    else:
        candidates = candidates.with_columns(pl.lit(0, dtype=pl.Int64).alias("__key"))
    candidates = candidates.select(
        "row",
        pl.col("__visit").alias("visit_id"),
        pl.col("__sid").alias("settlement_id"),
        pl.col("__refund").alias("is_reversal"),
        "__key",
    )
    candidates = candidates.collect(engine="in-memory")
    originals = (
        candidates.filter(~pl.col("is_reversal"))
        .sort("row")
        .unique(subset=["visit_id", "__key"], keep="first", maintain_order=True)
        .select("visit_id", "__key", pl.col("settlement_id").alias("__target"))
    )
    return (
        candidates.filter(pl.col("is_reversal"))
        .join(originals, on=["visit_id", "__key"], how="inner")
        .select("row", "__target")
    )
