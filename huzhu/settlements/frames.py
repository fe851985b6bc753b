"""Pure polars steps of the settlement import (no database): the records of a file, the
checks the engine does not make, the plan each row falls under, and the doubtful-claim
reasons. `importing.py` wires them to the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import polars as pl

from huzhu.plans.rules.amounts import AMOUNT_ERROR_MESSAGES, SPACES, iso_date_expr
from huzhu.plans.rules.explain import BASE_LABELS
from huzhu.plans.rules.records import AMOUNT_FIELDS, ColumnPlan, records_frame

__all__ = [
    "TEXT_LIMITS",
    "AMOUNT_LABELS",
    "settlement_frame",
    "text_problems",
    "printable",
    "plan_index_expr",
    "review_reason_expr",
    "review_reasons",
    "problem_field",
]

# Stored text columns and their widths (models.SettlementRecord): longer is a row problem.
TEXT_LIMITS = {
    "settlement_id": 64,
    "visit_id": 64,
    "reverses": 64,
    "diagnosis_code": 32,
    "name": 64,
    "hospital": 128,
    "hospital_code": 32,
    "hospital_level": 16,
}
AMOUNT_LABELS = BASE_LABELS
_TRUE = ["1", "true", "yes", "y", "t", "是"]


def _text_col(frame: pl.DataFrame, columns: ColumnPlan, name: str) -> pl.Expr:
    col = columns.columns.get(name)
    if col is None:
        return pl.lit("", dtype=pl.String).alias(name)
    return pl.col(col).fill_null("").str.strip_chars(SPACES).alias(name)


def settlement_frame(frame: pl.DataFrame, columns: ColumnPlan) -> pl.DataFrame:
    """`records_frame` (all amount fields the file has) plus the descriptive text fields,
    the parsed dates (`admit`, `discharge`) and `out_of_area`, in file order."""
    fields = [f for f in AMOUNT_FIELDS if columns.has(f)]
    rec = records_frame(frame, columns, amount_fields=fields).collect(engine="in-memory")
    extra = frame.select(
        *[_text_col(frame, columns, n) for n in ("name", "hospital", "hospital_code")],
        _text_col(frame, columns, "hospital_level"),
        _text_col(frame, columns, "out_of_area")
        .str.to_lowercase()
        .is_in(_TRUE)
        .alias("out_of_area"),
    )
    rec = pl.concat([rec, extra], how="horizontal")
    for name in AMOUNT_FIELDS:
        if name not in fields:
            rec = rec.with_columns(
                pl.lit(None, dtype=pl.Int64).alias(f"{name}_fen"),
                pl.lit(None, dtype=pl.String).alias(f"{name}_err"),
                pl.lit(name).alias(f"{name}_src"),
            )
    return rec.with_columns(
        iso_date_expr(pl.col("admit_date")).alias("admit"),
        iso_date_expr(pl.col("discharge_date")).alias("discharge"),
    )


def text_problems(rec: pl.DataFrame, columns: ColumnPlan) -> pl.DataFrame:
    """Rows with text the record cannot hold: row, settlement_id, field, code, reason.

    `nul_character`: a NUL character in any text of the row (PostgreSQL refuses to store
    one; the row is refused by name, the rest of the batch goes on); `too_long`: a value
    longer than its column. A row is listed once, NUL first."""
    schema = {"row": pl.Int64, "settlement_id": pl.String, "field": pl.String}
    schema |= {"code": pl.String, "reason": pl.String}
    parts = []
    texts = [n for n, t in rec.schema.items() if t == pl.String and not n.endswith("_err")]
    nul = [pl.col(n).str.contains("\x00", literal=True) for n in texts]
    if nul and rec.select(pl.any_horizontal(nul).any()).item():
        for name, has_nul in zip(texts, nul, strict=True):
            field = name.removesuffix("_src")  # an amount column's name (a pushed key)
            label = printable(columns.source(field))
            parts.append(
                rec.filter(has_nul).select(
                    "row",
                    "settlement_id",
                    pl.lit(field).alias("field"),
                    pl.lit("nul_character").alias("code"),
                    pl.lit(f"{label}：含有NUL字符（\\u0000），无法保存").alias("reason"),
                )
            )
    for name, limit in TEXT_LIMITS.items():
        parts.append(
            rec.filter(pl.col(name).str.len_chars() > limit).select(
                "row",
                "settlement_id",
                pl.lit(name).alias("field"),
                pl.lit("too_long").alias("code"),
                pl.lit(f"{printable(columns.source(name))}：超过{limit}个字符").alias("reason"),
            )
        )
    out = pl.concat([pl.DataFrame(schema=schema), *parts])
    return out.unique(subset=["row"], keep="first", maintain_order=True).sort("row")


def printable(text: str) -> str:
    """Text that PostgreSQL can store: a NUL character shown as `\\0`."""
    return text.replace("\x00", "\\0")


def plan_index_expr(periods: Sequence[tuple]) -> pl.Expr:
    """Index of the first plan whose period contains the row's discharge date, else 0 (then
    the plan's engine says out_of_period, or an earlier-precedence status)."""
    d = pl.col("discharge")
    expr = None
    for i, (start, end) in enumerate(periods):
        cond = d.is_not_null() & (d >= start) & (d <= end)
        expr = pl.when(cond).then(pl.lit(i)) if expr is None else expr.when(cond).then(pl.lit(i))
    if expr is None:
        return pl.lit(0).alias("plan_idx")
    return expr.otherwise(pl.lit(0)).cast(pl.Int64).alias("plan_idx")


# A member who refused (on the enrollment form) or withdrew (on /m/) consent to processing
# their settlement data (huzhu.enrollment.consent): their records wait for a reviewer.
CONSENT_WITHHELD_REASON = (
    "职工未同意或已撤回个人信息处理同意书，医保结算数据不自动办理互助金，须人工审核"
)


def review_reason_expr(base: str, consent_withheld: Sequence[int] = ()) -> pl.Expr:
    """Why a covered stay is doubtful ("" when every check passes).

    Amounts that do not add up (fund_paid + self-pay in and out of policy ≠ total_cost), an
    unreadable or negative amount other than the base, a stay longer than 365 days, a
    name that differs from the member registry (`member_name` column), and a member whose
    consent is withheld (`member_id` in `consent_withheld`).
    """
    parts: list[pl.Expr] = []
    f = {n: pl.col(f"{n}_fen") for n in AMOUNT_FIELDS}
    sums_known = pl.all_horizontal([f[n].is_not_null() for n in AMOUNT_FIELDS])
    total = f["fund_paid"] + f["self_pay_in_policy"] + f["self_pay_out_policy"]
    parts.append(
        pl.when(sums_known & (total != f["total_cost"])).then(
            pl.concat_str(
                [
                    pl.lit("金额不符：统筹基金支付+政策范围内个人负担+政策范围外自费="),
                    _yuan(total),
                    pl.lit("元，医疗总费用为"),
                    _yuan(f["total_cost"]),
                    pl.lit("元"),
                ]
            )
        )
    )
    for name in AMOUNT_FIELDS:
        if name == base:
            continue
        err = pl.col(f"{name}_err")
        message = pl.lit(None, dtype=pl.String)
        for code, text in AMOUNT_ERROR_MESSAGES.items():
            if code == "empty":
                continue
            message = pl.when(err == code).then(pl.lit("金额" + text)).otherwise(message)
        parts.append(
            pl.when(err.is_not_null() & (err != "empty")).then(
                pl.concat_str([pl.col(f"{name}_src"), pl.lit("："), message])
            )
        )
        parts.append(pl.when(f[name] < 0).then(pl.lit(f"{AMOUNT_LABELS[name]}为负数")))
    days = (pl.col("discharge") - pl.col("admit")).dt.total_days()
    parts.append(
        pl.when(days > 365).then(
            pl.concat_str([pl.lit("住院天数超过365天（"), days.cast(pl.String), pl.lit("天）")])
        )
    )
    parts.append(
        pl.when(
            (pl.col("name") != "")
            & pl.col("member_name").is_not_null()
            & (pl.col("name") != pl.col("member_name"))
        ).then(
            pl.concat_str(
                [
                    pl.lit("姓名与职工登记不一致（结算记录：“"),
                    pl.col("name"),
                    pl.lit("”，登记：“"),
                    pl.col("member_name"),
                    pl.lit("”）"),
                ]
            )
        )
    )
    if consent_withheld:
        withheld = pl.col("member_id").is_in(list(consent_withheld))
        parts.append(pl.when(withheld).then(pl.lit(CONSENT_WITHHELD_REASON)))
    return pl.concat_str(parts, separator="；", ignore_nulls=True).fill_null("")


def review_reasons(
    *,
    amounts: Mapping[str, int | None],
    base: str,
    admit: date | None,
    discharge: date | None,
    name: str = "",
    member_name: str | None = None,
    amount_errors: Mapping[str, str | None] | None = None,
    amount_sources: Mapping[str, str] | None = None,
    consent_withheld: bool = False,
) -> list[str]:
    """`review_reason_expr` for one stay, in plain Python: the same checks in the same order
    with the same words (a property test holds them equal), so the one-stop cashier and the
    file import send the same stays to a reviewer. `amounts` are fen by field name (None when
    absent); `name` is the record's, stripped; `member_name` the registry's."""
    errors = amount_errors or {}
    sources = amount_sources or {}
    out = []
    if all(amounts.get(n) is not None for n in AMOUNT_FIELDS):
        parts = amounts["fund_paid"] + amounts["self_pay_in_policy"]
        parts += amounts["self_pay_out_policy"]
        if parts != amounts["total_cost"]:
            out.append(
                "金额不符：统筹基金支付+政策范围内个人负担+政策范围外自费="
                f"{_yuan_text(parts)}元，医疗总费用为{_yuan_text(amounts['total_cost'])}元"
            )
    for field in AMOUNT_FIELDS:
        if field == base:
            continue
        err = errors.get(field)
        if err is not None and err != "empty" and err in AMOUNT_ERROR_MESSAGES:
            out.append(f"{sources.get(field, field)}：金额{AMOUNT_ERROR_MESSAGES[err]}")
        fen = amounts.get(field)
        if fen is not None and fen < 0:
            out.append(f"{AMOUNT_LABELS[field]}为负数")
    if admit is not None and discharge is not None and (discharge - admit).days > 365:
        out.append(f"住院天数超过365天（{(discharge - admit).days}天）")
    if name and member_name is not None and name != member_name:
        out.append(f"姓名与职工登记不一致（结算记录：“{name}”，登记：“{member_name}”）")
    if consent_withheld:
        out.append(CONSENT_WITHHELD_REASON)
    return out


def _yuan_text(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _yuan(col: pl.Expr) -> pl.Expr:
    a = col.abs()
    return pl.concat_str(
        [
            pl.when(col < 0).then(pl.lit("-")).otherwise(pl.lit("")),
            (a // 100).cast(pl.String),
            pl.lit("."),
            (a % 100).cast(pl.String).str.zfill(2),
        ]
    )


def problem_field(reason_code: str, base: str) -> str:
    """The canonical field an invalid reason code is about."""
    rest = reason_code.partition(".")[2]
    if rest == "missing_settlement_id":
        return "settlement_id"
    if rest.startswith("id_number"):
        return "id_number"
    if rest == "admit_date":
        return "admit_date"
    if rest in ("discharge_date", "discharge_before_admission"):
        return "discharge_date"
    if rest.startswith("base"):
        return base
    return ""
