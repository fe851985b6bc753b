"""What an auto-claim says: its breakdown (JSON), its explanation and the member's notice.

Two paths give the same text: polars expressions for the bulk import (`*_expr`) and plain
functions for the member-year recompute (`*_text`). Amounts in explanations are written
`1234.56` (no separators, as files have them); the member's notice uses `1,234.56`.

The bulk import stores a **compact breakdown**: a JSON list of the stay's own numbers
(`COMPACT_FIELDS`, then base and amount of each band; an empty list for a lump sum) and no
explanation. Everything else in `breakdown_dict` / the explanation comes from the claim's
plan version, so `expand_breakdown` / `compact_explanation` rebuild them at read time, to the
character (the Claim model does it when the attributes are read; tests hold the two equal).
A million claims thus write ~60 bytes of breakdown each instead of ~1 KB of JSON and text.
"""

from __future__ import annotations

import json
from datetime import date

import polars as pl

from huzhu.core.money import format_fen
from huzhu.plans.rules.explain import BASE_LABELS, explain_outcome, percent
from huzhu.plans.rules.outcomes import BandPart, Outcome, OutcomeStatus, StayBenefit
from huzhu.plans.schema import LumpSumBenefit, Plan

__all__ = [
    "BASE_LABELS",
    "COMPACT_FIELDS",
    "compact_breakdown_expr",
    "expand_breakdown",
    "compact_explanation",
    "ratio_label",
    "breakdown_dict",
    "explanation_text",
    "lump_breakdown_dict",
    "lump_explanation_text",
    "notice_text",
    "yuan_grouped_expr",
    "notice_expr",
]


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


# --- the compact breakdown of bulk-written claims ----------------------------------------------

COMPACT_FIELDS = (
    "base_fen",
    "deductible_fen",
    "excess_fen",
    "before_cap_fen",
    "cap_cut_fen",
    "amount_fen",
)


def compact_breakdown_expr(plan: Plan | None = None) -> pl.Expr:
    """JSON text of the compact breakdown from adjudicate_frame's columns; `plan` None gives a
    lump sum's (an empty list)."""
    if plan is None:
        return pl.lit("[]")
    cols = [pl.col(c) for c in COMPACT_FIELDS]
    for i in range(len(plan.inpatient.bands())):
        cols += [pl.col(f"band_{i}_base_fen"), pl.col(f"band_{i}_amount_fen")]
    return pl.concat_str(
        [pl.lit("["), pl.concat_str([c.cast(pl.String) for c in cols], separator=","), pl.lit("]")]
    )


def _stay_benefit(plan: Plan, compact: list) -> StayBenefit | None:
    bands = plan.inpatient.bands()
    if len(compact) != len(COMPACT_FIELDS) + 2 * len(bands):
        return None
    head = dict(zip(COMPACT_FIELDS, compact, strict=False))
    rest = compact[len(COMPACT_FIELDS) :]
    parts = tuple(
        BandPart(i, lower, upper, ratio, rest[2 * i], rest[2 * i + 1])
        for i, (lower, upper, ratio) in enumerate(bands)
    )
    return StayBenefit(
        key="", bands=parts, cumulative_excess_before_fen=0, paid_before_fen=0, **head
    )


def _lump(plan: Plan, code: str) -> LumpSumBenefit | None:
    return next((b for b in plan.lump_sums if b.code == code), None)


def expand_breakdown(
    plan: Plan, version: int | None, benefit_code: str, diagnosis_code: str, compact: list
) -> dict:
    """The `breakdown_dict` / `lump_breakdown_dict` a compact breakdown stands for ({} when it
    does not fit the plan)."""
    if benefit_code == plan.inpatient.code:
        b = _stay_benefit(plan, compact)
        return breakdown_dict(plan, version, b) if b else {}
    benefit = _lump(plan, benefit_code)
    return lump_breakdown_dict(plan, version, benefit, diagnosis_code) if benefit else {}


def compact_explanation(plan: Plan, benefit_code: str, compact: list) -> str:
    """The explanation the bulk import used to store beside the breakdown."""
    if benefit_code == plan.inpatient.code:
        b = _stay_benefit(plan, compact)
        return explanation_text(plan, b) if b else ""
    benefit = _lump(plan, benefit_code)
    return lump_explanation_text(plan, benefit) if benefit else ""


# --- the bulk path ---------------------------------------------------------------------------


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
