"""Exporting the bank file, marking a batch sent, cancelling it."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from huzhu.audit.services import audit_record
from huzhu.claims.models import (
    Claim,
    ClaimStatus,
)
from huzhu.core.money import format_fen
from huzhu.core.tabular import RowProblem

from .. import bankfile
from ..error_codes import PaymentError
from ..models import (
    BatchState,
    LinkState,
    PaymentBatch,
    PaymentRow,
    PaymentRowAdjustment,
    PaymentRowClaim,
    RowResult,
)
from .common import (
    E,
    _lock_batch,
    _require_finance,
    _totals,
    _wrong_state,
    batch_bank_rows,
)
from .returns import _apply_results

# --- export --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportedFile:
    data: bytes
    file_name: str
    checksum: str
    content_type: str


CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def payment_batch_export(*, batch: PaymentBatch, file_format: str, acting_user) -> ExportedFile:
    """The bank file of a batch (.xlsx or CSV). Records its SHA-256 on the batch and in the
    audit trail (an export of bank accounts). The same batch gives the same bytes again."""
    _require_finance(acting_user)
    if file_format not in CONTENT_TYPES:
        raise PaymentError(E.BAD_FORMAT, _("导出格式应为 xlsx 或 csv。"))
    with transaction.atomic():
        locked = _lock_batch(batch)
        if locked.state == BatchState.CANCELLED:
            raise _wrong_state(locked, _("导出银行文件"))
        rows = batch_bank_rows(locked)
        if not rows:
            raise PaymentError(
                E.NOTHING_TO_PAY, _("批次%(n)s没有需要银行代发的记录。") % {"n": locked.number}
            )
        data = bankfile.write_bank_file(
            rows, file_format=file_format, title=locked.number, created=locked.created_at
        )
        digest = bankfile.checksum(data)
        if locked.state == BatchState.OPEN:
            locked.file_format = file_format
            locked.file_checksum = digest
            locked.exported_at = timezone.now()
            locked.save(update_fields=["file_format", "file_checksum", "exported_at", "updated_at"])
        audit_record(
            actor=acting_user,
            action="payment_batch.export",
            obj=locked,
            after={
                **_totals(locked),
                "format": file_format,
                "checksum": digest,
                "bank_rows": len(rows),
                "bank_total_fen": sum(r.amount_fen for r in rows),
            },
        )
    return ExportedFile(
        data=data,
        file_name=f"代发_{locked.number}.{file_format}",
        checksum=digest,
        content_type=CONTENT_TYPES[file_format],
    )


# --- mark sent -----------------------------------------------------------------------------


def _changed_claims(batch: PaymentBatch) -> list[RowProblem]:
    """Claims of the batch that are no longer approved, or whose amount changed since."""
    problems = []
    rows = (
        PaymentRowClaim.objects.filter(batch=batch, released=False)
        .exclude(claim__status=ClaimStatus.APPROVED, claim__amount_fen=F("amount_fen"))
        .values_list(
            "row__seq", "claim__number", "claim__status", "claim__amount_fen", "amount_fen"
        )
    )
    for seq, number, status, now_fen, fen in rows:
        problems.append(
            RowProblem(
                seq,
                "申请",
                "claim_changed",
                _("序号%(s)s 申请%(n)s：状态“%(st)s”，金额%(a)s元（批次中%(b)s元）")
                % {
                    "s": seq,
                    "n": number,
                    "st": ClaimStatus(status).label,
                    "a": format_fen(now_fen or 0),
                    "b": format_fen(fen),
                },
            )
        )
    return problems


def payment_batch_mark_sent(*, batch: PaymentBatch, acting_user) -> PaymentBatch:
    """The bank file was handed to the bank: open → sent. Needs an exported file, and every
    claim still approved with the amount the batch holds (else cancel and make a new one)."""
    _require_finance(acting_user)
    with transaction.atomic():
        locked = _lock_batch(batch)
        if locked.state != BatchState.OPEN:
            raise _wrong_state(locked, _("标记为已发送"))
        # A batch whose every row was netted to 0.00 sends nothing to the bank.
        to_bank = PaymentRow.objects.filter(batch=locked, amount_fen__gt=0).exists()
        if to_bank and not locked.file_checksum:
            raise PaymentError(E.NOT_EXPORTED, _("请先导出银行文件，再标记为已发送。"))
        list(
            Claim.objects.filter(payment_links__batch=locked, payment_links__released=False)
            .select_for_update(of=("self",))
            .order_by("id")
            .values_list("id", flat=True)
        )
        problems = _changed_claims(locked)
        if problems:
            raise PaymentError(
                E.CLAIMS_CHANGED,
                _("批次中有%(n)s笔申请在建批后发生变化，请撤销本批次后重新建批。")
                % {"n": len(problems)},
                problems=problems,
            )
        locked.state = BatchState.SENT
        locked.sent_at = timezone.now()
        locked.sent_by = acting_user
        locked.save(update_fields=["state", "sent_at", "sent_by", "updated_at"])
        audit_record(
            actor=acting_user,
            action="payment_batch.mark_sent",
            obj=locked,
            before={"state": BatchState.OPEN},
            after={
                **_totals(locked),
                "checksum": locked.file_checksum,
                "format": locked.file_format,
            },
        )
        if not to_bank:  # settled by offset at once: there is no return file to wait for
            _apply_results(
                locked,
                {},
                now=locked.sent_at,
                paid_on=timezone.localdate(),
                acting_user=acting_user,
            )
            audit_record(
                actor=acting_user,
                action="payment_batch.settle_offset",
                obj=locked,
                before={"state": BatchState.SENT},
                after=_totals(locked),
                reason=_("全部金额以追回款抵扣，无需银行代发"),
            )
    return locked


# --- cancel --------------------------------------------------------------------------------


def payment_batch_cancel(*, batch: PaymentBatch, acting_user, reason: str = "") -> PaymentBatch:
    """Cancel a batch before it is sent: its claims and adjustment items go back to the queue."""
    _require_finance(acting_user)
    with transaction.atomic():
        locked = _lock_batch(batch)
        if locked.state != BatchState.OPEN:
            raise _wrong_state(locked, _("撤销（只有未发送银行的批次可以撤销）"))
        PaymentRowClaim.objects.filter(batch=locked).update(released=True)
        PaymentRowAdjustment.objects.filter(batch=locked).update(state=LinkState.CANCELLED)
        PaymentRow.objects.filter(batch=locked).update(result=RowResult.CANCELLED)
        locked.state = BatchState.CANCELLED
        locked.cancelled_at = timezone.now()
        locked.cancel_reason = (reason or "").strip()
        locked.save(update_fields=["state", "cancelled_at", "cancel_reason", "updated_at"])
        audit_record(
            actor=acting_user,
            action="payment_batch.cancel",
            obj=locked,
            before={"state": BatchState.OPEN},
            after=_totals(locked),
            reason=locked.cancel_reason,
        )
    return locked
