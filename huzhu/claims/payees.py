"""A member's bank account: where the member-payee claims are paid.

`bank_card_change` is the one way the account changes (member pages, member API, a union
operator, a manual claim filed without an account on file): the holder must be the member,
and approved claims already in a payment batch stay with the account the batch was made with
(the answer names them), so no pending payment is redirected silently.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from huzhu.audit.services import audit_record
from huzhu.core.errors import StepRefused
from huzhu.core.masking import mask_account
from huzhu.members.fields import (
    FieldError,
    normalize_bank_account,
    normalize_bank_name,
    normalize_name,
)
from huzhu.members.models import Member

from .models import Claim, ClaimStatus

__all__ = ["BankCardResult", "bank_card_change"]


@dataclass(frozen=True)
class BankCardResult:
    member: Member
    changed: bool
    to_new_account: tuple[str, ...]  # approved claims not yet in a batch: paid to the new card
    to_old_account: tuple[str, ...]  # claims already in a payment batch: paid to the old card
    message: str


def _claims_in_live_batch(member: Member) -> set[int]:
    # A payment link (payments.PaymentRowClaim, reached by its reverse name so this app does
    # not import payments) that is not released holds its claim in a batch (open, or sent).
    return set(
        Claim.objects.filter(
            member=member, status=ClaimStatus.APPROVED, payment_links__released=False
        ).values_list("id", flat=True)
    )


def bank_card_change(
    *,
    member: Member,
    acting_user,
    account_name: str = "",
    bank_name: str = "",
    bank_account: str = "",
) -> BankCardResult:
    """Change the account the member's payments go to. Audited (masked before -> after).

    The account holder's name must be the member's own name. Approved claims already in a
    payment batch stay with the account the batch was made with; the result (and its
    message) names them and the claims that will now go to the new account, so no pending
    payment is redirected silently.
    """
    try:
        holder = normalize_name(account_name)
    except FieldError as exc:
        raise StepRefused(exc.code, f"户名：{exc.message}", field="account_name") from None
    if holder != normalize_name(member.name):
        raise StepRefused(
            "name_mismatch",
            f"户名“{holder}”与职工本人姓名不一致：互助金只能发放到本人名下的银行账户",
            field="account_name",
        )
    try:
        bank = normalize_bank_name(bank_name)
        account = normalize_bank_account(bank_account)
    except FieldError as exc:
        field = "bank_name" if exc.code == "bad_bank_name" else "bank_account"
        raise StepRefused(exc.code, exc.message, field=field) from None
    if not bank:
        raise StepRefused("missing", "请填写开户银行", field="bank_name")
    if not account:
        raise StepRefused("missing", "请填写银行卡号", field="bank_account")
    with transaction.atomic():
        locked = Member.objects.select_for_update().get(pk=member.pk)
        old_account, old_bank = locked.bank_account, locked.bank_name
        changed = old_account != account or old_bank != bank
        in_batch = _claims_in_live_batch(locked)
        approved = list(
            Claim.objects.filter(
                member=locked, status=ClaimStatus.APPROVED, payee_kind="member", amount_fen__gt=0
            ).order_by("approved_at", "id")
        )
        to_old = tuple(c.number for c in approved if c.pk in in_batch)
        to_new = tuple(c.number for c in approved if c.pk not in in_batch)
        if changed:
            locked.bank_account = account
            locked.bank_name = bank
            locked.save(
                update_fields=[
                    "bank_account_encrypted",
                    "bank_account_last4",
                    "bank_name",
                    "updated_at",
                ]
            )
            audit_record(
                actor=acting_user,
                action="member.bank_card_change",
                obj=locked,
                before={
                    "bank_name": old_bank,
                    "bank_account": mask_account(old_account[-4:]) if old_account else "",
                },
                after={
                    "bank_name": bank,
                    "bank_account": mask_account(account[-4:]),
                    "paid_to_new_account": list(to_new),
                    "already_in_batch": list(to_old),
                },
            )
    parts = [f"银行卡已更新为{bank}尾号{account[-4:]}。" if changed else "银行卡信息未变化。"]
    if changed and to_new:
        parts.append(f"待发放的申请{'、'.join(to_new)}将发放到新卡。")
    if changed and to_old:
        parts.append(
            f"申请{'、'.join(to_old)}已纳入发放批次，仍发放到原账户尾号{old_account[-4:]}；"
            "如原卡无法入账，银行退回后将在下一批次发放到新卡。"
        )
    member.bank_account_encrypted = locked.bank_account_encrypted
    member.bank_account_last4 = locked.bank_account_last4
    member.bank_name = locked.bank_name
    return BankCardResult(locked, changed, to_new, to_old, "".join(parts))
