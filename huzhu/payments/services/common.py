"""Shared by the batch steps: the role gate, the batch lock, totals for the audit trail."""

from __future__ import annotations

from django.utils.translation import gettext as _

from huzhu.organizations.models import Role

from .. import bankfile
from ..accounts import decrypt_many
from ..error_codes import PaymentError, PaymentErrorCode
from ..models import (
    PaymentBatch,
    PaymentRow,
    RowResult,
)

E = PaymentErrorCode
# Rows whose claims are paid when the return file is applied: the bank's successes, and
# rows netted to 0.00 by recoveries (settled by offset, never sent to the bank).
SETTLED_ROWS = (RowResult.SUCCESS, RowResult.OFFSET)
FINANCE_ROLES = frozenset({Role.FEDERATION_FINANCE, Role.ADMIN})


def _require_finance(acting_user) -> None:
    if acting_user is None:
        return  # the platform (commands)
    if not (acting_user.is_authenticated and acting_user.is_active) or not (
        acting_user.is_superuser or acting_user.role in FINANCE_ROLES
    ):
        raise PaymentError(E.ROLE_NOT_ALLOWED, _("只有市总工会财务人员可以办理代发批次。"))


def _totals(batch: PaymentBatch) -> dict:
    return {
        "number": batch.number,
        "state": batch.state,
        "payee_kind": batch.payee_kind,
        "rows": batch.row_count,
        "claims": batch.claim_count,
        "gross_fen": batch.gross_fen,
        "netted_fen": batch.netted_fen,
        "total_fen": batch.total_fen,
        "left_out": batch.left_out_count,
    }


def _lock_batch(batch: PaymentBatch | int) -> PaymentBatch:
    pk = batch.pk if isinstance(batch, PaymentBatch) else batch
    return PaymentBatch.objects.select_for_update().get(pk=pk)


def _wrong_state(batch: PaymentBatch, doing: str) -> PaymentError:
    return PaymentError(
        E.WRONG_STATE,
        _("批次%(n)s状态为“%(s)s”，不能%(d)s。")
        % {"n": batch.number, "s": batch.get_state_display(), "d": doing},
    )


def batch_bank_rows(batch: PaymentBatch) -> list[bankfile.BankRow]:
    """The rows sent to the bank (not rows netted to 0.00, not cancelled ones), by 序号."""
    found = list(
        PaymentRow.objects.filter(batch=batch, amount_fen__gt=0)
        .exclude(result=RowResult.CANCELLED)
        .order_by("seq")
        .values_list("seq", "name", "account_encrypted", "bank_name", "amount_fen", "memo")
    )
    accounts = decrypt_many([r[2] for r in found])
    return [
        bankfile.BankRow(
            seq=seq, name=name, account=account, bank_name=bank_name, amount_fen=amount, memo=memo
        )
        for (seq, name, _token, bank_name, amount, memo), account in zip(
            found, accounts, strict=True
        )
    ]
