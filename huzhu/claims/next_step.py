"""What happens next to a member's claim, and roughly when (shown on the member pages).

A pure function over the claim's state: no database, "today" passed in (working days
count public holidays: `huzhu.core.workdays`). The service times
are the federation's published promises (办事指南); they are targets, not deadlines the
platform enforces, so the text says "一般" (usually) and "预计" (expected).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings

from huzhu.core import workdays as workdays_

__all__ = ["NextStep", "add_workdays", "claim_next_step"]

UNION_REVIEW_WORKDAYS = 3  # 工会初审
FEDERATION_REVIEW_WORKDAYS = 5  # 市总工会审核
PAYMENT_DAYS = 30  # approved claims are paid in the federation's (monthly) payment batches


@dataclass(frozen=True)
class NextStep:
    text: str  # one sentence for the member
    done: bool = False  # nothing more will happen
    action: str = ""  # "correct" | "bank_card" | "continue" when the member must act


def add_workdays(day: date, workdays: int) -> date:
    """`day` + `workdays` working days: weekends, public holidays and 调休 working weekends
    as `huzhu.core.workdays` knows them, with the federation's own dates from settings."""
    return workdays_.add_workdays(
        day,
        workdays,
        holidays=getattr(settings, "HUZHU_HOLIDAYS", frozenset()),
        makeup_workdays=getattr(settings, "HUZHU_MAKEUP_WORKDAYS", frozenset()),
    )


def _by(day: date) -> str:
    return f"{day.month}月{day.day}日"


def claim_next_step(
    *,
    status: str,
    filer: str,
    amount_fen: int | None,
    since: date,
    today: date,
    payment_failed: bool = False,
    has_bank_card: bool = True,
    paid_on: date | None = None,
    payee_kind: str = "member",
) -> NextStep:
    """The next step of a claim in `status` since `since` (its last change)."""
    start = since
    if payee_kind == "hospital" and status in ("approved", "paid"):
        return NextStep(
            "已在出院结算时由医院直接减免（一站式结算），无需另行发放，已办结。", done=True
        )
    if status == "draft":
        return NextStep("草稿尚未提交，工会看不到；提交后由所在工会初审。", action="continue")
    if status == "submitted" and filer == "member":
        due = add_workdays(start, UNION_REVIEW_WORKDAYS)
        return NextStep(
            f"下一步：所在工会初审，一般{UNION_REVIEW_WORKDAYS}个工作日内"
            f"（预计{_by(due)}前），初审后交市总工会审核。"
        )
    if status in ("submitted", "union_reviewed"):
        due = add_workdays(start, FEDERATION_REVIEW_WORKDAYS)
        return NextStep(
            f"下一步：市总工会审核，一般{FEDERATION_REVIEW_WORKDAYS}个工作日内"
            f"（预计{_by(due)}前）；核准后随代发批次发放到您的银行卡。"
        )
    if status == "returned":
        return NextStep(
            "下一步：请按退回意见修改后重新提交；重新提交后工会再次初审。", action="correct"
        )
    if status == "approved":
        if not amount_fen:
            return NextStep("本次互助金额为0.00元，无需发放，已办结。", done=True)
        if payment_failed:
            return NextStep(
                "银行发放失败：请核对并更新银行卡，更新后随下一批代发发放。", action="bank_card"
            )
        if not has_bank_card:
            return NextStep(
                "下一步：发放到您的银行卡。您还没有登记银行卡，请先登记，否则无法发放。",
                action="bank_card",
            )
        due = start + timedelta(days=PAYMENT_DAYS)
        return NextStep(
            f"下一步：随市总工会代发批次发放到您的银行卡，一般在核准后{PAYMENT_DAYS}天内"
            f"（预计{_by(due)}前）到账。"
        )
    if status == "paid":
        when = f"已于{paid_on:%Y-%m-%d}" if paid_on else "已"
        return NextStep(f"{when}发放到您的银行卡，已办结。", done=True)
    if status == "rejected":
        return NextStep("未通过，已办结（原因见办理进度）。如有疑问请联系所在工会。", done=True)
    if status == "void":
        return NextStep("已作废，已办结（原因见办理进度）。", done=True)
    return NextStep("")
