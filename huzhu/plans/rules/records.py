"""Settlement-record fields: our names and the national medical-insurance platform's.

Pure mapping from a table of text cells (a file, a push payload) to canonical records,
row by row (`records_from_rows`, `record_from_mapping`) or over a polars frame
(`records_frame`). Both give the same values; the settlement import reuses them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import NamedTuple

import polars as pl

from .amounts import SPACES, parse_amount, with_amount

__all__ = [
    "CANONICAL_FIELDS",
    "AMOUNT_FIELDS",
    "NATIONAL_NAMES",
    "REQUIRED_FIELDS",
    "ColumnPlan",
    "Amount",
    "SettlementRecord",
    "RecordsFormatError",
    "column_plan",
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


def _cell(row: Mapping[str, object], column: str | None) -> str:
    if column is None:
        return ""
    value = row.get(column)
    return "" if value is None else str(value).strip(SPACES)


def _amount(row: Mapping[str, object], plan: ColumnPlan, name: str) -> Amount:
    if name in plan.columns:
        col = plan.columns[name]
        fen, err = parse_amount(_cell(row, col))
        return Amount(fen, err, col)
    op, left, right = plan.derived[name]
    lf, lerr = parse_amount(_cell(row, left))
    if lerr:
        return Amount(None, lerr, left)
    rf, rerr = parse_amount(_cell(row, right))
    if rerr:
        return Amount(None, rerr, right)
    assert lf is not None and rf is not None
    return Amount(lf + rf if op == "+" else lf - rf, None, plan.source(name))


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
    reverses = _cell(row, plan.columns.get("reverses"))
    flag = _cell(row, plan.reversal_flag) == "1"
    amounts = {n: _amount(row, plan, n) for n in amount_fields if plan.has(n)}
    text = (
        {
            n: _cell(row, plan.columns.get(n))
            for n in ("name", "hospital", "hospital_code", "hospital_level", "out_of_area")
            if n in plan.columns
        }
        if with_text
        else {}
    )
    return SettlementRecord(
        row=row_number,
        settlement_id=_cell(row, plan.columns["settlement_id"]),
        id_number=_cell(row, plan.columns["id_number"]),
        admit_date=_cell(row, plan.columns["admit_date"]),
        discharge_date=_cell(row, plan.columns["discharge_date"]),
        diagnosis_code=_cell(row, plan.columns.get("diagnosis_code")),
        is_reversal=bool(reverses) or flag,
        reverses=reverses,
        visit_id=_cell(row, plan.columns.get("visit_id")),
        amounts=amounts,
        text=text,
        sources=plan.sources,
    )


def _match_key(record: SettlementRecord, negate: bool) -> tuple[str, int | None] | None:
    if not record.visit_id:
        return None
    total = record.amounts.get("total_cost")
    if total is None:
        return (record.visit_id, None)
    if total.fen is None:
        return None
    return (record.visit_id, -total.fen if negate else total.fen)


def _reader(plan: ColumnPlan, fields: list[str], with_text: bool):
    """A fast `record_from_mapping` for many rows of one file (same result)."""
    cols = plan.columns
    c_sid, c_id = cols["settlement_id"], cols["id_number"]
    c_admit, c_dis = cols["admit_date"], cols["discharge_date"]
    c_diag, c_rev, c_visit = cols.get("diagnosis_code"), cols.get("reverses"), cols.get("visit_id")
    c_flag = plan.reversal_flag
    sources = plan.sources
    plain = [(n, cols[n]) for n in fields if n in cols]
    derived = [
        (n, *plan.derived[n], plan.source(n)) for n in fields if n not in cols and n in plan.derived
    ]
    text_cols = [
        (n, cols[n])
        for n in ("name", "hospital", "hospital_code", "hospital_level", "out_of_area")
        if with_text and n in cols
    ]

    def cell(row, column):
        if column is None:
            return ""
        value = row.get(column)
        return "" if value is None else str(value).strip(SPACES)

    def read(row: Mapping[str, object], number: int) -> SettlementRecord:
        amounts = {}
        for name, col in plain:
            fen, err = parse_amount(cell(row, col))
            amounts[name] = Amount(fen, err, col)
        for name, op, left, right, label in derived:
            lf, lerr = parse_amount(cell(row, left))
            if lerr:
                amounts[name] = Amount(None, lerr, left)
                continue
            rf, rerr = parse_amount(cell(row, right))
            if rerr:
                amounts[name] = Amount(None, rerr, right)
                continue
            amounts[name] = Amount(lf + rf if op == "+" else lf - rf, None, label)
        reverses = cell(row, c_rev)
        return SettlementRecord(
            number,
            cell(row, c_sid),
            cell(row, c_id),
            cell(row, c_admit),
            cell(row, c_dis),
            cell(row, c_diag),
            bool(reverses) or (c_flag is not None and cell(row, c_flag) == "1"),
            reverses,
            cell(row, c_visit),
            amounts,
            {n: cell(row, c) for n, c in text_cols} if text_cols else _EMPTY,
            sources,
        )

    return read


def records_from_rows(
    rows: Iterable[Mapping[str, object]],
    plan: ColumnPlan,
    *,
    amount_fields: Iterable[str] = AMOUNT_FIELDS,
    with_text: bool = True,
) -> list[SettlementRecord]:
    """Records of a whole file, in file order (`row` = 1-based data row).

    A national refund row (`refd_setl_flag`=1) without our `reverses` cancels the first
    non-refund record of the same visit (`mdtrt_id`) whose total it negates; if there is
    none it stays a reversal with `reverses=""` (flagged for a reviewer).
    """
    fields = [f for f in amount_fields if plan.has(f)]
    if plan.reversal_flag and "total_cost" not in fields and plan.has("total_cost"):
        fields.append("total_cost")
    read = _reader(plan, fields, with_text)
    records = [read(r, i) for i, r in enumerate(rows, start=1)]
    if not plan.reversal_flag:
        return records
    originals: dict[tuple[str, int | None], str] = {}
    for r in records:
        if not r.is_reversal and r.settlement_id:
            key = _match_key(r, negate=False)
            if key is not None:
                originals.setdefault(key, r.settlement_id)
    out = []
    for r in records:
        if r.is_reversal and not r.reverses:
            key = _match_key(r, negate=True)
            target = originals.get(key, "") if key is not None else ""
            if target:
                r = _replace_reverses(r, target)
        out.append(r)
    return out


def _replace_reverses(r: SettlementRecord, target: str) -> SettlementRecord:
    return r._replace(reverses=target)


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
    lf = with_amount(lf, left, out="__l_fen", err="__l_err")
    lf = with_amount(lf, right, out="__r_fen", err="__r_err")
    lf_fen, rf_fen = pl.col("__l_fen"), pl.col("__r_fen")
    return lf.with_columns(
        (lf_fen + rf_fen if op == "+" else lf_fen - rf_fen).alias(f"{name}_fen"),
        pl.coalesce(pl.col("__l_err"), pl.col("__r_err")).alias(f"{name}_err"),
        pl.when(pl.col("__l_err").is_not_null())
        .then(pl.lit(left))
        .when(pl.col("__r_err").is_not_null())
        .then(pl.lit(right))
        .otherwise(pl.lit(plan.source(name)))
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
    `<f>_fen`, `<f>_err`, `<f>_src`.
    """
    fields = [f for f in amount_fields if plan.has(f)]
    flag = (
        pl.col(plan.reversal_flag).fill_null("").str.strip_chars(SPACES) == "1"
        if plan.reversal_flag
        else pl.lit(False)
    )
    lf = frame.lazy().with_row_index("row", offset=1).with_columns(pl.col("row").cast(pl.Int64))
    source_cols = [c for c in lf.collect_schema().names() if c != "row"]
    lf = lf.with_columns(
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
    # National refunds name no target: the first non-refund record of the same visit
    # whose total it negates. Refunds are few, so only their visits are looked at.
    done = out.collect(engine="in-memory")
    src = frame.lazy().with_row_index("row", offset=1).with_columns(pl.col("row").cast(pl.Int64))
    refunds = done.filter(
        pl.col("is_reversal") & (pl.col("reverses") == "") & (pl.col("visit_id") != "")
    ).select("row", "visit_id")
    if refunds.height == 0:
        return done.lazy()
    visits = refunds["visit_id"].unique().implode()
    candidates = done.filter(
        pl.col("visit_id").is_in(visits)
        & (pl.col("reverses") == "")
        & (pl.col("settlement_id") != "")
    ).select("row", "visit_id", "settlement_id", "is_reversal")
    if plan.has("total_cost"):
        totals = _amount_columns(
            src.join(candidates.lazy().select("row"), on="row", how="semi"), plan, "total_cost"
        ).select("row", "total_cost_fen")
        candidates = (
            candidates.lazy()
            .join(totals, on="row", how="left")
            .filter(pl.col("total_cost_fen").is_not_null())
            .with_columns(
                pl.when(pl.col("is_reversal"))
                .then(-pl.col("total_cost_fen"))
                .otherwise(pl.col("total_cost_fen"))
                .alias("__key")
            )
            .collect()
        )
    else:
        candidates = candidates.with_columns(pl.lit(0, dtype=pl.Int64).alias("__key"))
    originals = (
        candidates.filter(~pl.col("is_reversal"))
        .sort("row")
        .unique(subset=["visit_id", "__key"], keep="first", maintain_order=True)
        .select("visit_id", "__key", pl.col("settlement_id").alias("__target"))
    )
    matched = candidates.filter(pl.col("is_reversal")).join(
        originals, on=["visit_id", "__key"], how="inner"
    )
    if matched.height == 0:
        return done.lazy()
    target = pl.col("row").replace_strict(
        matched["row"], matched["__target"], default=None, return_dtype=pl.String
    )
    return done.lazy().with_columns(
        pl.when(pl.col("reverses") == "")
        .then(target.fill_null(""))
        .otherwise(pl.col("reverses"))
        .alias("reverses")
    )
