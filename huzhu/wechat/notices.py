"""What a notification becomes as a WeChat template message or a fallback SMS (pure).

Every template uses the same keyword fields (since 2023 WeChat shows keyword fields only:
no `first`, no `remark`, no colours), so the federation picks or applies for templates
with these fields (docs/wechat.md):

    character_string1 申请编号   thing2 互助项目   amount3 金额
    phrase4 办理状态            thing5 说明       time6 办理时间

The SMS fallback template takes three parameters: {1} claim number, {2} status, {3} detail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

# Notification kinds that carry news about a claim, and the template kind each uses.
AUTO_SOURCES = frozenset({"auto", "onestop"})
DIGEST_KIND = "claims_auto"  # a notice naming several auto-claims (settlement import)
THING_MAX = 20
PHRASE_MAX = 5


@dataclass(frozen=True)
class ClaimFacts:
    """What the message needs from the claim; the channel loads it."""

    pk: int | None
    number: str
    benefit: str
    source: str
    amount_fen: int | None
    hospital: str
    reviewed_by_person: bool  # approved by a reviewer (not on creation by the platform)
    returned_reason: str
    payment_failure_reason: str


@dataclass(frozen=True)
class Message:
    template_kind: str
    data: dict[str, str]  # keyword -> value
    path: str  # member page the message opens (through OAuth)
    sms_params: list[str]


def _cut(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _yuan(fen: int) -> str:
    whole, cents = divmod(abs(fen), 100)
    return f"{'-' if fen < 0 else ''}{whole}.{cents:02d}元"


def template_kind(kind: str, facts: ClaimFacts | None) -> str | None:
    """The template kind for a notification kind, or None when no template message is sent
    (steps the member took themselves: submitted, first review passed; void)."""
    if kind == DIGEST_KIND:
        return "auto_claim"
    if kind == "claim_recomputed" or kind.startswith("adjustment") or kind == "claim_adjusted":
        return "adjustment"
    if kind in ("claim_returned", "claim_paid", "claim_payment_failed"):
        return kind.removeprefix("claim_")
    if facts is None:
        return None
    automatic = facts.source in AUTO_SOURCES
    if kind == "claim_submitted":
        return "auto_claim" if automatic else None
    if kind == "claim_approved":
        return "auto_claim" if automatic and not facts.reviewed_by_person else "approved"
    if kind == "claim_rejected":
        return "approved"  # the review-result template; its status says 未通过
    return None


def _after_colon(text: str) -> str:
    for mark in ("：", ":"):
        if mark in text:
            return text.rsplit(mark, 1)[1].rstrip("。")
    return ""


def build_message(
    *, kind: str, text: str, facts: ClaimFacts | None, at: datetime
) -> Message | None:
    """The template message (and SMS parameters) for one notification, or None."""
    tkind = template_kind(kind, facts)
    if tkind is None:
        return None
    number = facts.number if facts else ""
    amount = _yuan(facts.amount_fen) if facts and facts.amount_fen is not None else ""
    status, note = {
        "auto_claim": ("已自动受理", facts.hospital if facts else "无需申请，点击查看明细"),
        "approved": ("审核通过", "点击查看计算明细"),
        "returned": ("已退回", facts.returned_reason if facts else _after_colon(text)),
        "paid": ("已发放", "互助金已发放到您的银行账户"),
        "payment_failed": (
            "发放失败",
            "请更新银行卡：" + (facts.payment_failure_reason if facts else ""),
        ),
        "adjustment": ("金额调整", _after_colon(text)),
    }[tkind]
    if kind == "claim_rejected":
        status, note = "未通过", _after_colon(text)
    if tkind == "auto_claim" and kind == "claim_submitted":
        status, amount = "待审核", ""
    if kind == DIGEST_KIND:
        number, note = "多笔", "您有多笔住院已自动受理"
    data = {"character_string1": number or "-"}
    if facts and facts.benefit:
        data["thing2"] = _cut(facts.benefit, THING_MAX)
    if amount:
        data["amount3"] = amount
    data["phrase4"] = _cut(status, PHRASE_MAX)
    data["thing5"] = _cut(note or status, THING_MAX)
    data["time6"] = timezone.localtime(at).strftime("%Y-%m-%d %H:%M")
    path = f"/m/claims/{facts.pk}/" if facts and facts.pk else "/m/claims/"
    detail = amount if tkind in ("auto_claim", "approved", "paid") and amount else note
    return Message(
        template_kind=tkind,
        data=data,
        path=path,
        sms_params=[number or "-", status, _cut(detail or status, THING_MAX)],
    )
