"""Applying the bank's return file to a sent batch."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huzhu.audit.services import audit_record
from huzhu.claims.models import (
    PayeeKind,
)
from huzhu.claims.payment_steps import (
    ClaimStepsRefused,
    adjustments_settle_many,
    claims_mark_paid_many,
    claims_record_payment_failure_many,
    notify_members_many,
)
from huzhu.core.bulk import bulk_update_rows
from huzhu.core.money import format_fen

from .. import bankfile
from ..error_codes import PaymentError
from ..models import (
    BatchState,
    LinkState,
    PaymentBatch,
    PaymentReturn,
    PaymentRow,
    PaymentRowAdjustment,
    PaymentRowClaim,
    RowResult,
)
from .common import (
    SETTLED_ROWS,
    E,
    _lock_batch,
    _require_finance,
    _totals,
    _wrong_state,
    batch_bank_rows,
)

# --- import the return file ----------------------------------------------------------------


@dataclass
class ReturnResult:
    batch: PaymentBatch
    applied: bool  # False: the same file had been applied before; nothing changed
    checksum: str
    layout: str = ""
    success_count: int = 0
    success_fen: int = 0
    failed_count: int = 0
    failed_fen: int = 0
    failures: list[tuple[int, str, str]] = field(default_factory=list)  # (seq, name, reason)


def payment_batch_import_return(
    *,
    batch: PaymentBatch,
    data: bytes,
    file_name: str,
    acting_user,
    paid_on: dt.date | None = None,
    layout: str | None = None,
) -> ReturnResult:
    """Apply the bank's return file to a sent batch, all or nothing.

    The file must match the batch row by row (count, accounts, amounts); otherwise
    PaymentError(RETURN_MISMATCH) lists every problem and nothing is applied. A success row
    marks its claims `paid` on `paid_on` (default today), settles the top-ups paid and the
    recoveries netted; a failed row leaves its claims `approved` with the bank's reason
    (back in the queue; the member is told to fix the card) and releases its adjustment
    items. Importing the same file again changes nothing (`applied=False`); a different file
    for a settled batch is refused. Raises TabularError for an unreadable file.
    """
    _require_finance(acting_user)
    digest = bankfile.checksum(data)
    parsed = bankfile.read_return_file(data, file_name, layout=layout)  # TabularError
    now = timezone.now()
    paid_on = paid_on or timezone.localdate()
    with transaction.atomic():
        locked = _lock_batch(batch)
        previous = PaymentReturn.objects.filter(batch=locked).first()
        if previous is not None:
            if previous.checksum == digest:
                return ReturnResult(batch=locked, applied=False, checksum=digest)
            raise PaymentError(
                E.OTHER_RETURN_APPLIED,
                _("批次%(n)s已于%(t)s导入回盘文件“%(f)s”，不能再导入另一份回盘文件。")
                % {
                    "n": locked.number,
                    "t": timezone.localtime(previous.created_at).strftime("%Y-%m-%d %H:%M"),
                    "f": previous.file_name,
                },
            )
        if locked.state != BatchState.SENT:
            raise _wrong_state(locked, _("导入回盘文件（请先标记为已发送银行）"))
        expected = batch_bank_rows(locked)
        report = bankfile.match_return(expected, parsed)
        if not report.ok:
            raise PaymentError(
                E.RETURN_MISMATCH,
                _("回盘文件与批次%(n)s不符，共%(k)s处问题，未做任何处理。")
                % {"n": locked.number, "k": len(report.problems)},
                problems=report.problems,
            )
        failed = {r.seq: r.reason for r in report.results if not r.success}
        applied = _apply_results(locked, failed, now=now, paid_on=paid_on, acting_user=acting_user)
        row_by_seq = applied.row_by_seq
        PaymentReturn.objects.create(
            batch=locked,
            file_name=file_name[:255],
            checksum=digest,
            layout=parsed.layout,
            success_count=locked.success_count,
            failed_count=locked.failed_count,
            paid_on=paid_on,
            created_by=acting_user,
        )
        audit_record(
            actor=acting_user,
            action="payment_batch.import_return",
            obj=locked,
            before={"state": BatchState.SENT},
            after={
                **_totals(locked),
                "return_checksum": digest,
                "return_file": file_name,
                "layout": parsed.layout,
                "paid_on": paid_on.isoformat(),
                "success_rows": locked.success_count,
                "success_fen": locked.success_fen,
                "failed_rows": locked.failed_count,
                "failed_fen": locked.failed_fen,
                "claims_paid": applied.claims_paid,
                "claims_failed": applied.claims_failed,
            },
        )
    return ReturnResult(
        batch=locked,
        applied=True,
        checksum=digest,
        layout=parsed.layout,
        success_count=locked.success_count,
        success_fen=locked.success_fen,
        failed_count=locked.failed_count,
        failed_fen=locked.failed_fen,
        failures=[(s, row_by_seq[s][2], r) for s, r in sorted(failed.items())],
    )


@dataclass
class _Applied:
    row_by_seq: dict
    claims_paid: int
    claims_failed: int


def _apply_results(locked, failed: dict[int, str], *, now, paid_on, acting_user) -> _Applied:
    """Settle a locked batch (see `_apply`); a claim that changed under it refuses the whole
    file as PaymentError(CLAIMS_CHANGED) listing the claims, and the transaction rolls back."""
    try:
        return _apply(locked, failed, now=now, paid_on=paid_on, acting_user=acting_user)
    except ClaimStepsRefused as exc:  # a claim changed under the batch: nothing is applied
        raise PaymentError(E.CLAIMS_CHANGED, exc.message, problems=exc.problems) from exc


def _apply(locked, failed: dict[int, str], *, now, paid_on, acting_user) -> _Applied:
    """Settle a batch: rows in `failed` (序号 -> the bank's reason) failed, every other row
    succeeded (offset rows settle with it): claims paid or their failure recorded, adjustment
    items settled or released, members told. Precondition: the batch row is locked."""
    row_by_seq = {
        seq: (row_id, member_id, name, amount)
        for seq, row_id, member_id, name, amount in PaymentRow.objects.filter(
            batch=locked
        ).values_list("seq", "id", "member_id", "name", "amount_fen")
    }
    failed_rows = {row_by_seq[s][0]: reason for s, reason in failed.items()}

    PaymentRow.objects.filter(batch=locked, result=RowResult.PENDING).exclude(
        id__in=list(failed_rows)
    ).update(result=RowResult.SUCCESS, result_at=now)
    PaymentRow.objects.filter(batch=locked, result=RowResult.OFFSET).update(result_at=now)
    bulk_update_rows(
        PaymentRow,
        ["result", "failure_reason", "result_at"],
        [(row_id, (RowResult.FAILED, reason, now)) for row_id, reason in failed_rows.items()],
    )

    failed_links = PaymentRowClaim.objects.filter(
        batch=locked, released=False, row_id__in=list(failed_rows)
    ).values_list("row_id", "claim_id")
    failure_text = _("%(r)s（批次%(n)s）")
    failures = {
        claim_id: failure_text % {"r": failed_rows[row_id], "n": locked.number}
        for row_id, claim_id in failed_links
    }
    paid_at = timezone.make_aware(
        dt.datetime.combine(paid_on, dt.time(12, 0)), timezone.get_current_timezone()
    )
    claims_paid = claims_mark_paid_many(
        pays=PaymentRowClaim.objects.filter(batch=locked, released=False).exclude(
            row_id__in=list(failed_rows)
        ),
        acting_user=acting_user,
        paid_at=paid_at,
        reason=_("代发批次%(n)s发放成功") % {"n": locked.number},
    )
    claims_failed = claims_record_payment_failure_many(failures=failures, acting_user=acting_user)
    # A refused row lets its claims go (back in the queue); paid links are never released.
    PaymentRowClaim.objects.filter(batch=locked, row_id__in=list(failed_rows)).update(released=True)

    # Adjustment items: settled by the rows that paid, released by the rows that failed.
    adjustment_links = list(
        PaymentRowAdjustment.objects.filter(batch=locked, state=LinkState.PENDING).values_list(
            "row_id", "adjustment_id", "amount_fen"
        )
    )
    adjustments_settle_many(
        settlements=[(a, fen) for row_id, a, fen in adjustment_links if row_id not in failed_rows],
        acting_user=acting_user,
        reason=_("代发批次%(n)s") % {"n": locked.number},
    )
    PaymentRowAdjustment.objects.filter(batch=locked, state=LinkState.PENDING).exclude(
        row_id__in=list(failed_rows)
    ).update(state=LinkState.PAID)
    PaymentRowAdjustment.objects.filter(batch=locked, row_id__in=list(failed_rows)).update(
        state=LinkState.FAILED
    )

    success_rows = [v for s, v in row_by_seq.items() if s not in failed]
    locked.state = BatchState.SETTLED
    locked.settled_at = now
    locked.paid_on = paid_on
    locked.success_count = len(success_rows)
    locked.success_fen = sum(v[3] for v in success_rows)
    locked.failed_count = len(failed)
    locked.failed_fen = sum(row_by_seq[s][3] for s in failed)
    locked.save()
    _notify_paid(batch=locked, paid_on=paid_on)
    return _Applied(row_by_seq=row_by_seq, claims_paid=claims_paid, claims_failed=claims_failed)


def _notify_paid(*, batch, paid_on) -> None:
    """One message per member whose row was paid (or fully netted)."""
    if batch.payee_kind != PayeeKind.MEMBER:
        return
    rows = PaymentRow.objects.filter(batch=batch, result__in=SETTLED_ROWS).values_list(
        "member_id", "amount_fen", "netted_fen", "claim_numbers", "account_last4"
    )
    # Translate once: gettext per message costs more than the rest for 100,000 rows.
    top_up_label = _("补发")
    offset_text = _("您的互助金（申请%(n)s）已全额抵扣应退回的互助金%(x)s元。")
    paid_text = _("您的互助金%(a)s元（申请%(n)s）已于%(d)s发放到尾号%(c)s的银行卡。")
    netted_text = _("已抵扣应退回的互助金%(x)s元。")
    day = paid_on.isoformat()
    messages = []
    for member_id, amount, netted, numbers, last4 in rows:
        listed = numbers.replace(",", "、") or top_up_label
        if amount == 0:
            text = offset_text % {"n": listed, "x": format_fen(netted)}
        else:
            text = paid_text % {"a": format_fen(amount), "n": listed, "d": day, "c": last4}
            if netted:
                text += netted_text % {"x": format_fen(netted)}
        messages.append((member_id, None, "payment_paid", text))
    notify_members_many(messages)
