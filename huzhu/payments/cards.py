"""The work list of members without a valid bank card (银行卡待补录), and the reminder sent
to them.

A member's card is missing when no account or no bank name is registered; it is in doubt
when the bank refused the last payment to it and an approved claim still waits (the claim
keeps `payment_failed_at` until it is paid). Either way the member's money cannot go out:
the list puts those with money waiting first, and a reminder asks them to register their
card on the member pages (or at their union). A member is reminded at most once a week.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from huzhu.audit.services import audit_record
from huzhu.claims.models import Claim, ClaimStatus, Notification
from huzhu.claims.notifications import notify_member
from huzhu.members.selectors import members_visible

__all__ = [
    "CardProblem",
    "REMINDER_KIND",
    "bank_card_reminders_send",
    "members_without_valid_card",
]

REMINDER_KIND = "bank_card_request"
REMIND_AGAIN_AFTER = dt.timedelta(days=7)


@dataclass
class CardProblem:
    member: object
    reason: str
    waiting_fen: int  # approved, unpaid money that cannot go out until the card is fixed
    reminded_at: dt.datetime | None
    told: str = ""  # the same reason as the member is told it


def members_without_valid_card(user, *, limit: int = 500) -> list[CardProblem]:
    """Members `user` may see whose card is missing or was refused by the bank, those with
    money waiting first, then by union and name."""
    failed = dict(
        Claim.objects.filter(
            status=ClaimStatus.APPROVED, payee_kind="member", payment_failed_at__isnull=False
        )
        .order_by("member_id", "-payment_failed_at")
        .values_list("member_id", "payment_failure_reason")
    )
    qs = members_visible(user).filter(
        Q(bank_account_last4="") | Q(bank_name="") | Q(pk__in=list(failed))
    )
    members = list(qs.order_by("union__code", "name", "id")[:limit])
    ids = [m.pk for m in members]
    waiting = dict(
        Claim.objects.filter(
            member_id__in=ids,
            status=ClaimStatus.APPROVED,
            payee_kind="member",
            amount_fen__gt=0,
        )
        .values("member_id")
        .annotate(total=Sum("amount_fen"))
        .values_list("member_id", "total")
    )
    reminded: dict[int, dt.datetime] = {}
    for member_id, at in (
        Notification.objects.filter(member_id__in=ids, kind=REMINDER_KIND)
        .order_by("member_id", "created_at")
        .values_list("member_id", "created_at")
    ):
        reminded[member_id] = at  # the latest wins (ascending order)
    out = []
    for m in members:
        if not m.bank_account_last4:
            reason, told = "未登记银行账号", "您还没有登记银行卡"
        elif not m.bank_name:
            reason, told = "未登记开户银行", "您登记的银行卡缺少开户银行"
        else:
            why = failed.get(m.pk) or "原因未说明"
            reason, told = f"银行退回上次发放：{why}", f"银行退回了上次的发放（{why}）"
        out.append(CardProblem(m, reason, waiting.get(m.pk, 0), reminded.get(m.pk), told))
    out.sort(key=lambda p: (p.waiting_fen == 0,))
    return out


def _reminder_text(problem: CardProblem) -> str:
    waiting = ""
    if problem.waiting_fen:
        yuan = f"{problem.waiting_fen // 100:,}.{problem.waiting_fen % 100:02d}"
        waiting = f"您有{yuan}元职工医疗互助金等待发放，"
    return (
        f"{problem.member.name}您好：{waiting}{problem.told}，互助金无法发放到您的账户。"
        "请在“医疗互助”手机页面的“我的银行卡”中登记本人的银行卡（户名须为本人），"
        "或联系所在工会办理。"
    )


def bank_card_reminders_send(*, acting_user, member_ids: list[int], now=None) -> tuple[int, int]:
    """Remind the listed members (within the user's scope and still on the list) to register
    a valid card. Returns (sent, skipped: reminded within the past week). Audited once."""
    now = now or timezone.now()
    wanted = set(member_ids)
    problems = [p for p in members_without_valid_card(acting_user) if p.member.pk in wanted]
    sent = skipped = 0
    reminded_ids = []
    with transaction.atomic():
        for p in problems:
            if p.reminded_at is not None and now - p.reminded_at < REMIND_AGAIN_AFTER:
                skipped += 1
                continue
            notify_member(member=p.member, kind=REMINDER_KIND, text=_reminder_text(p))
            reminded_ids.append(p.member.pk)
            sent += 1
        if sent:
            audit_record(
                actor=acting_user,
                action="member.bank_card_reminder",
                object_type="members.member",
                after={"sent": sent, "skipped": skipped, "member_ids": reminded_ids},
            )
    return sent, skipped
