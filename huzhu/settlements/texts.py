"""What an auto-claim says: its breakdown (JSON), its explanation and the member's notice.

Two paths give the same text: polars expressions for the bulk import (`*_expr`) and plain
functions for the member-year recompute (`*_text`). Amounts in explanations are written
`1234.56` (no separators, as files have them); the member's notice uses `1,234.56`.
"""

from __future__ import annotations

import json
from datetime import date

import polars as pl

from huzhu.core.money import format_fen
from huzhu.plans.rules.explain import BASE_LABELS as EXPLAIN_BASE_LABELS
from huzhu.plans.rules.explain import explain_outcome, percent
from huzhu.plans.rules.outcomes import Outcome, OutcomeStatus, StayBenefit
from huzhu.plans.schema import LumpSumBenefit, Plan

__all__ = [
    "BASE_LABELS",
    "ratio_label",
    "breakdown_dict",
    "explanation_text",
    "lump_breakdown_dict",
    "lump_explanation_text",
    "notice_text",
    "yuan_plain_expr",
    "yuan_grouped_expr",
    "inpatient_breakdown_expr",
    "inpatient_explanation_expr",
    "lump_breakdown_expr",
    "lump_explanation_expr",
    "notice_expr",
]

BASE_LABELS = {
    "self_pay_in_policy": "政策范围内个人负担",
    "self_pay_out_policy": "政策范围外自费",
    "total_cost": "医疗总费用",
    "fund_paid": "统筹基金支付",
}


def ratio_label(units: int) -> str:
    """5000 (of 10000) -> "50%" (the plans app's `percent`)."""
    return percent(units)


# --- the row path ----------------------------------------------------------------------------


def breakdown_dict(plan: Plan, version: int | None, b: StayBenefit) -> dict:
    inpatient = plan.inpatient
    return {
        "benefit": inpatient.code,
        "plan_year": plan.year,
        "plan_version": version,
        "base_field": inpatient.base,
        "base_fen": b.base_fen,
        "deductible_fen": b.deductible_fen,
        "excess_fen": b.excess_fen,
        "bands": [
            {
                "lower_fen": p.lower_fen,
                "upper_fen": p.upper_fen,
                "ratio": ratio_label(p.ratio_units),
                "base_fen": p.base_fen,
                "amount_fen": p.amount_fen,
            }
            for p in b.bands
        ],
        "before_cap_fen": b.before_cap_fen,
        "cap_cut_fen": b.cap_cut_fen,
        "amount_fen": b.amount_fen,
    }


def _outcome(plan: Plan, b: StayBenefit) -> Outcome:
    return Outcome(
        row=0,
        settlement_id=b.key,
        benefit=plan.inpatient.code,
        status=OutcomeStatus.COVERED,
        amount_fen=b.amount_fen,
        deductible_fen=b.deductible_fen,
        base_fen=b.base_fen,
        excess_fen=b.excess_fen,
        bands=b.bands,
        before_cap_fen=b.before_cap_fen,
        cap_cut_fen=b.cap_cut_fen,
    )


def explanation_text(plan: Plan, b: StayBenefit) -> str:
    """The plans app's member-facing explanation of one stay's benefit."""
    return explain_outcome(_outcome(plan, b), plan)


def _zero_reason(excess_fen: int, cap_cut_fen: int) -> str:
    if cap_cut_fen:
        return "本年度住院互助已达封顶线。"
    if excess_fen == 0:
        return "本次费用未超过起付线。"
    return ""


def lump_breakdown_dict(plan: Plan, version: int | None, benefit: LumpSumBenefit, diag: str):
    return {
        "benefit": benefit.code,
        "plan_year": plan.year,
        "plan_version": version,
        "lump_sum_fen": benefit.lump_sum_fen,
        "diagnosis_code": diag,
        "once_per": benefit.once_per,
        "amount_fen": benefit.lump_sum_fen,
    }


def lump_explanation_text(plan: Plan, benefit: LumpSumBenefit) -> str:
    outcome = Outcome(
        row=0,
        settlement_id="",
        benefit=benefit.code,
        status=OutcomeStatus.COVERED,
        amount_fen=benefit.lump_sum_fen,
    )
    return explain_outcome(outcome, plan)


def _stay_phrase(hospital: str, admit: date, discharge: date) -> str:
    end = discharge.strftime("%m-%d") if discharge.year == admit.year else discharge.isoformat()
    return f"您在{hospital}的住院（{admit.isoformat()}至{end}）"


def notice_text(
    *,
    hospital: str,
    admit: date,
    discharge: date,
    benefit_name: str,
    amount_fen: int,
    for_review: bool,
    zero_reason: str = "",
) -> str:
    """The member's notice of an auto-claim (issue 4's wording)."""
    stay = _stay_phrase(hospital, admit, discharge)
    if for_review:
        return f"{stay}已自动受理{benefit_name}，需人工审核后确定金额，结果将另行通知"
    text = f"{stay}已自动受理{benefit_name}，金额{format_fen(amount_fen)}元，无需申请"
    if amount_fen == 0 and zero_reason:
        text += f"（{zero_reason.rstrip('。')}）"
    return text


# --- the bulk path ---------------------------------------------------------------------------


def yuan_plain_expr(col: pl.Expr) -> pl.Expr:
    """fen_to_yuan over a column of non-negative Int64 fen: 123456 -> "1234.56"."""
    return pl.concat_str(
        [(col // 100).cast(pl.String), pl.lit("."), (col % 100).cast(pl.String).str.zfill(2)]
    )


def yuan_grouped_expr(col: pl.Expr) -> pl.Expr:
    """format_fen over non-negative Int64 fen: 645000 -> "6,450.00" (below 10^12 yuan)."""
    y = col // 100
    g = [((y // 10 ** (3 * k)) % 1000).cast(pl.String) for k in range(4)]
    z = [s.str.zfill(3) for s in g]
    whole = (
        pl.when(y >= 10**9)
        .then(pl.concat_str([g[3], z[2], z[1], z[0]], separator=","))
        .when(y >= 10**6)
        .then(pl.concat_str([g[2], z[1], z[0]], separator=","))
        .when(y >= 10**3)
        .then(pl.concat_str([g[1], z[0]], separator=","))
        .otherwise(g[0])
    )
    return pl.concat_str([whole, pl.lit("."), (col % 100).cast(pl.String).str.zfill(2)])


def inpatient_breakdown_expr(plan: Plan, version: int | None) -> pl.Expr:
    """JSON text of `breakdown_dict` from adjudicate_frame's columns."""
    inpatient = plan.inpatient
    bands = []
    for i, (lower, upper, ratio) in enumerate(inpatient.bands()):
        bands.append(
            pl.struct(
                pl.lit(lower, dtype=pl.Int64).alias("lower_fen"),
                pl.lit(upper, dtype=pl.Int64).alias("upper_fen"),
                pl.lit(ratio_label(ratio)).alias("ratio"),
                pl.col(f"band_{i}_base_fen").alias("base_fen"),
                pl.col(f"band_{i}_amount_fen").alias("amount_fen"),
            )
        )
    return pl.struct(
        pl.lit(inpatient.code).alias("benefit"),
        pl.lit(plan.year, dtype=pl.Int64).alias("plan_year"),
        pl.lit(version, dtype=pl.Int64).alias("plan_version"),
        pl.lit(inpatient.base).alias("base_field"),
        pl.col("base_fen"),
        pl.col("deductible_fen"),
        pl.col("excess_fen"),
        pl.concat_list(bands).alias("bands"),
        pl.col("before_cap_fen"),
        pl.col("cap_cut_fen"),
        pl.col("amount_fen"),
    ).struct.json_encode()


def inpatient_explanation_expr(plan: Plan) -> pl.Expr:
    """`explain_outcome` of a covered inpatient stay over adjudicate_frame's columns (the same
    text to the character; tests/settlements/test_texts.py holds the two equal)."""
    inpatient = plan.inpatient

    def y(col: pl.Expr) -> pl.Expr:
        return yuan_grouped_expr(col) + pl.lit("元")

    label = EXPLAIN_BASE_LABELS.get(inpatient.base, inpatient.base)
    base, excess = pl.col("base_fen"), pl.col("excess_fen")
    deducted, cap_cut = pl.col("deductible_fen"), pl.col("cap_cut_fen")
    amount, before = pl.col("amount_fen"), pl.col("before_cap_fen")
    head = pl.lit(f"本次{label}") + y(base)
    per = "本次" if inpatient.deductible_per_stay else "本年度"
    all_deductible = head + pl.lit(
        f"，全部用于抵扣起付线（{per}起付线{format_fen(inpatient.deductible_fen)}元），补助0.00元"
    )
    ded_text = pl.when(deducted > 0).then(pl.lit("，扣除起付线") + y(deducted) + pl.lit("后"))
    if inpatient.deductible_fen and not inpatient.deductible_per_stay:
        ded_text = ded_text.otherwise(pl.lit("（本年度起付线已扣满）"))
    else:
        ded_text = ded_text.otherwise(pl.lit(""))
    bands = []
    for i, _band in enumerate(inpatient.bands()):
        ratio = percent(inpatient.tiers[i].ratio_units)
        col = pl.col(f"band_{i}_base_fen")
        bands.append(pl.when(col > 0).then(y(col) + pl.lit(f"按{ratio}")))
    band_text = pl.concat_str(bands, separator="、", ignore_nulls=True)
    cap = f"{format_fen(inpatient.cap_fen or 0)}元"
    tail = (
        pl.when((cap_cut > 0) & (amount == 0))
        .then(
            pl.lit("，应补助")
            + y(before)
            + pl.lit(f"，但本年度补助已达封顶线{cap}，本次补助0.00元")
        )
        .when(cap_cut > 0)
        .then(
            pl.lit("，应补助")
            + y(before)
            + pl.lit(f"，因达到本年度封顶线{cap}，核减")
            + y(cap_cut)
            + pl.lit("，补助")
            + y(amount)
        )
        .otherwise(pl.lit("，补助") + y(amount))
    )
    full = head + ded_text + pl.lit("，") + band_text + pl.lit("补助") + tail
    return (
        pl.when(base == 0)
        .then(head + pl.lit("，补助0.00元"))
        .when(excess == 0)
        .then(all_deductible)
        .otherwise(full)
    )


def zero_reason_expr() -> pl.Expr:
    return (
        pl.when(pl.col("amount_fen") != 0)
        .then(pl.lit(""))
        .when(pl.col("cap_cut_fen") > 0)
        .then(pl.lit("本年度住院互助已达封顶线。"))
        .when(pl.col("excess_fen") == 0)
        .then(pl.lit("本次费用未超过起付线。"))
        .otherwise(pl.lit(""))
    )


def lump_breakdown_expr(plan: Plan, version: int | None, benefit: LumpSumBenefit) -> pl.Expr:
    return pl.struct(
        pl.lit(benefit.code).alias("benefit"),
        pl.lit(plan.year, dtype=pl.Int64).alias("plan_year"),
        pl.lit(version, dtype=pl.Int64).alias("plan_version"),
        pl.lit(benefit.lump_sum_fen, dtype=pl.Int64).alias("lump_sum_fen"),
        pl.col("diagnosis_code"),
        pl.lit(benefit.once_per).alias("once_per"),
        pl.lit(benefit.lump_sum_fen, dtype=pl.Int64).alias("amount_fen"),
    ).struct.json_encode()


def lump_explanation_expr(plan: Plan, benefit: LumpSumBenefit) -> pl.Expr:
    return pl.lit(lump_explanation_text(plan, benefit))


def notice_expr() -> pl.Expr:
    """`notice_text` over columns hospital, admit, discharge (Date), benefit_name, amount_fen,
    for_review (Boolean), zero_reason."""
    admit, discharge = pl.col("admit"), pl.col("discharge")
    end = (
        pl.when(admit.dt.year() == discharge.dt.year())
        .then(discharge.dt.strftime("%m-%d"))
        .otherwise(discharge.dt.strftime("%Y-%m-%d"))
    )
    stay = pl.concat_str(
        [
            pl.lit("您在"),
            pl.col("hospital"),
            pl.lit("的住院（"),
            admit.dt.strftime("%Y-%m-%d"),
            pl.lit("至"),
            end,
            pl.lit("）已自动受理"),
            pl.col("benefit_name"),
        ]
    )
    reason = pl.col("zero_reason").str.strip_chars_end("。")
    return (
        pl.when(pl.col("for_review"))
        .then(stay + pl.lit("，需人工审核后确定金额，结果将另行通知"))
        .otherwise(
            pl.concat_str(
                [
                    stay,
                    pl.lit("，金额"),
                    yuan_grouped_expr(pl.col("amount_fen")),
                    pl.lit("元，无需申请"),
                    pl.when((pl.col("amount_fen") == 0) & (reason != ""))
                    .then(pl.lit("（") + reason + pl.lit("）"))
                    .otherwise(pl.lit("")),
                ]
            )
        )
    )


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
