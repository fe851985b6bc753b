"""Member-facing explanations (Chinese), built only from an outcome's breakdown."""

from __future__ import annotations

from decimal import Decimal

from huzhu.core.money import format_fen

from ..schema import Plan
from .outcomes import Outcome, OutcomeStatus

__all__ = ["explain_outcome", "BASE_LABELS", "percent"]

# The one set of words for a settlement record's four amounts (base of a benefit, import
# problems, one-stop errors, claim forms, staff pages).
BASE_LABELS = {
    "self_pay_in_policy": "政策范围内个人负担",
    "self_pay_out_policy": "政策范围外自费",
    "total_cost": "医疗总费用",
    "fund_paid": "统筹基金支付",
}


def percent(ratio_units: int) -> str:
    """5000 (of 10000) -> "50%", 5550 -> "55.5%", 3333 -> "33.33%"."""
    value = (Decimal(ratio_units) / 100).normalize()
    text = format(value, "f")
    return f"{text}%"


def _yuan(fen: int) -> str:
    return f"{format_fen(fen)}元"


def _covered_inpatient(o: Outcome, plan: Plan) -> str:
    benefit = plan.inpatient
    label = BASE_LABELS.get(benefit.base, benefit.base)
    base = o.base_fen or 0
    text = f"本次{label}{_yuan(base)}"
    if base == 0:
        return text + "，补助0.00元"
    if o.excess_fen == 0:
        per = "本次" if benefit.deductible_per_stay else "本年度"
        return (
            text + f"，全部用于抵扣起付线（{per}起付线{_yuan(benefit.deductible_fen)}），补助0.00元"
        )
    if o.deductible_fen:
        text += f"，扣除起付线{_yuan(o.deductible_fen)}后"
    elif benefit.deductible_fen and not benefit.deductible_per_stay:
        text += "（本年度起付线已扣满）"
    parts = [b for b in o.bands if b.base_fen]
    text += (
        "，" + "、".join(f"{_yuan(b.base_fen)}按{percent(b.ratio_units)}" for b in parts) + "补助"
    )
    if o.cap_cut_fen:
        cap = _yuan(benefit.cap_fen or 0)
        if o.amount_fen == 0:
            return (
                text
                + f"，应补助{_yuan(o.before_cap_fen)}，但本年度补助已达封顶线{cap}，本次补助0.00元"
            )
        return (
            text
            + f"，应补助{_yuan(o.before_cap_fen)}，因达到本年度封顶线{cap}，"
            + f"核减{_yuan(o.cap_cut_fen)}，补助{_yuan(o.amount_fen)}"
        )
    return text + f"，补助{_yuan(o.amount_fen)}"


def explain_outcome(o: Outcome, plan: Plan) -> str:
    """One sentence telling the member what this outcome means and why."""
    status = o.status
    if status is OutcomeStatus.COVERED:
        if o.benefit == plan.inpatient.code:
            return _covered_inpatient(o, plan)
        name = next((b.name for b in plan.benefits if b.code == o.benefit), o.benefit)
        return f"本次住院的出院诊断符合“{name}”条件，一次性补助{_yuan(o.amount_fen)}"
    if status is OutcomeStatus.NOT_ENROLLED:
        return f"出院日期所在的{plan.year}年度未参加互助保障，本次住院不能补助"
    if status is OutcomeStatus.WAITING_PERIOD:
        start = f"自{o.coverage_start.isoformat()}起" if o.coverage_start else ""
        return (
            f"新参加互助保障的观察期为{plan.waiting_period_days}天，保障{start}生效；"
            "本次入院在观察期内，不能补助"
        )
    if status is OutcomeStatus.OUT_OF_PERIOD:
        return (
            f"出院日期不在{plan.year}年度保障期间"
            f"（{plan.period.start.isoformat()}至{plan.period.end.isoformat()}）内"
        )
    if status is OutcomeStatus.DUPLICATE:
        return "该结算记录与已有记录重复，不重复补助"
    if status is OutcomeStatus.REVERSAL:
        if o.reason_code == "reversal":
            return f"这是一条冲正（退费）记录，冲销原结算记录{o.reverses}，本身不产生补助"
        return "这是一条冲正（退费）记录，但未找到被冲正的原结算记录，已转人工复核"
    if status is OutcomeStatus.REVERSED:
        return "该结算记录已被医保冲正（退费），不予补助"
    return f"结算记录数据有误（{o.reason}），暂不能计算补助，请联系所在工会核实"
