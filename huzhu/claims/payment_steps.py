"""Payment steps for many claims at once: the claims of a settled payment batch.

The same steps as `claim_mark_paid`, `claim_record_payment_failure` and `adjustment_settle`
(huzhu.claims.services), for thousands of claims with a few set-based statements instead of
several statements per claim, so a 100,000-claim bank return file applies in seconds
(issue 6). Each writes what its one-claim twin writes: the same checks (refused as a whole,
every offending claim listed, nothing changed), the same fields, one `ClaimTransition` and
one audit event per claim, the member's message (stored now, delivered after commit by a
background task).

A separate module of the claims core added by the payments work; `huzhu.payments` calls it.
Preconditions: inside `transaction.atomic()` (a refusal raises and the caller's transaction
rolls back whatever ran before it).
"""

from __future__ import annotations

import datetime as dt
import json

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from huzhu.audit.models import AuditEvent
from huzhu.core.bulk import bulk_insert, bulk_update_rows, in_chunks
from huzhu.core.money import format_fen
from huzhu.core.tabular import RowProblem

from .error_codes import ClaimError, ClaimErrorCode
from .events import ClaimEvent, claim_events_write
from .models import (
    AdjustmentItem,
    AdjustmentStatus,
    Claim,
    ClaimStatus,
    Notification,
    PayeeKind,
)
from .notifications import deliver, redelivery_schedule
from .workflow import TRANSITIONS, Actor, actor_kind

__all__ = [
    "ClaimStepsRefused",
    "adjustments_settle_many",
    "claims_mark_paid_many",
    "claims_record_payment_failure_many",
    "deliver_notifications",
    "notify_members_many",
]


class ClaimStepsRefused(ClaimError):
    """Some claims (or adjustment items) were not in the state the step needs: `problems`
    lists each one; nothing was changed."""

    def __init__(self, code: ClaimErrorCode, message: str, problems: list[RowProblem]) -> None:
        super().__init__(code, message)
        self.problems = problems


_AUDIT_FIELDS = [
    "at",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "reason",
]


def _actor_id(acting_user):
    return acting_user.pk if acting_user is not None and acting_user.is_authenticated else None


def _lock_claims(claim_ids) -> list[tuple]:
    """Lock the claims (id order) and read what the steps check. `claim_ids` is a list, or a
    queryset of ids (a subquery: no 100,000-value IN list to build and send)."""
    if isinstance(claim_ids, list | tuple | set):
        rows = []
        for chunk in in_chunks(sorted(claim_ids)):
            rows += _lock_claims(Claim.objects.filter(id__in=chunk).values("id"))
        return rows
    return list(
        Claim.objects.filter(id__in=claim_ids)
        .select_for_update(of=("self",))
        .order_by("id")
        .values_list("id", "status", "amount_fen", "number", "member_id", "payee_kind")
    )


def _refuse(bad: list[RowProblem], what: str) -> None:
    if bad:
        raise ClaimStepsRefused(
            ClaimErrorCode.TRANSITION_NOT_ALLOWED,
            _("有%(k)s笔申请已不是待发放状态，%(w)s未处理，请联系审核人员核实。")
            % {"k": len(bad), "w": what},
            problems=bad,
        )


def _status_problem(number, status, fen) -> RowProblem:
    return RowProblem(
        0,
        "申请",
        "claim_changed",
        _("申请%(n)s状态为“%(s)s”，金额%(a)s元")
        % {"n": number, "s": ClaimStatus(status).label, "a": format_fen(fen or 0)},
    )


def claims_mark_paid_many(*, pays, acting_user, paid_at: dt.datetime, reason: str) -> int:
    """`approved -> paid` for the claims `pays` names: a queryset with a `claim_id` and an
    `amount_fen` (the payments app's claim links of a batch; `claim_mark_paid` passes the one
    claim). The only mark-paid path: its transition and audit rows are the events writer's,
    the same as every other step's. Each
    claim must still be approved with exactly that amount (> 0), else ClaimStepsRefused
    lists the others and the caller's transaction rolls back. Returns the number paid.

    One `UPDATE ... FROM (pays) ... RETURNING` checks the state and the amount as it writes
    (the update locks each row it changes): no locking read, no 100,000-value IN list.
    """
    allowed = TRANSITIONS[(ClaimStatus.APPROVED, ClaimStatus.PAID)]
    if actor_kind(acting_user) not in allowed:
        raise ClaimError(ClaimErrorCode.ROLE_NOT_ALLOWED, _("您的角色不能确认发放。"))
    now = timezone.now()
    expected = pays.count()
    if not expected:
        return 0
    ops = connection.ops
    claim_table = ops.quote_name(Claim._meta.db_table)
    pays_sql, pays_params = pays.values_list("claim_id", "amount_fen").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {claim_table} SET status = %s, status_changed_at = %s, status_reason = %s, "
            "paid_at = %s, payment_failed_at = NULL, payment_failure_reason = '', "
            "is_fixed = %s, updated_at = %s "
            f"FROM ({pays_sql}) AS pays WHERE pays.claim_id = {claim_table}.id "
            f"AND {claim_table}.status = %s AND {claim_table}.amount_fen = pays.amount_fen "
            f"AND {claim_table}.amount_fen > 0 "
            f"RETURNING {claim_table}.id",
            [
                ClaimStatus.PAID,
                ops.adapt_datetimefield_value(now),
                reason,
                ops.adapt_datetimefield_value(paid_at),
                True,  # paid is fixed (domain.md)
                ops.adapt_datetimefield_value(now),
                *pays_params,
                ClaimStatus.APPROVED,
            ],
        )
        ids = sorted(row[0] for row in cursor.fetchall())
    if len(ids) != expected:
        # The claims the update skipped are the ones not paid just now.
        changed = (
            Claim.objects.filter(id__in=pays.values("claim_id"))
            .exclude(status=ClaimStatus.PAID, status_changed_at=now)
            .values_list("number", "status", "amount_fen")
            .order_by("number")
        )
        _refuse([_status_problem(*row) for row in changed], _("回盘"))
    actor_id = _actor_id(acting_user)
    before = {"status": ClaimStatus.APPROVED.value}
    after = {
        "status": ClaimStatus.PAID.value,
        "paid_at": paid_at.isoformat(),
        "payment_failed_at": None,
        "payment_failure_reason": "",
    }
    claim_events_write(
        (
            ClaimEvent(
                claim_id=i,
                from_status=ClaimStatus.APPROVED,
                to_status=ClaimStatus.PAID,
                actor_id=actor_id,
                reason=reason,
                before=before,
                after=after,
            )
            for i in ids
        ),
        at=now,
    )
    return len(ids)


_PAYMENT_FAILURE_ACTORS = frozenset({Actor.PLATFORM, Actor.FEDERATION_FINANCE})


def claims_record_payment_failure_many(*, failures: dict[int, str], acting_user) -> int:
    """The bank refused these payments (claim id -> reason): the claims stay `approved`, the
    failure and reason are recorded (audited), and each member-payee claim's member is asked
    to check the card (a hospital's refused transfer is the hospital's account, not the
    member's). The only payment-failure path: `claim_record_payment_failure` calls it with
    one claim. Refused as a whole (nothing written) when the actor is neither the platform
    nor federation finance, a reason is blank, or a claim is no longer approved."""
    if actor_kind(acting_user) not in _PAYMENT_FAILURE_ACTORS:
        raise ClaimError(ClaimErrorCode.ROLE_NOT_ALLOWED, _("您的角色不能办理此操作。"))
    if not failures:
        return 0
    failures = {claim_id: (reason or "").strip() for claim_id, reason in failures.items()}
    if not all(failures.values()):
        raise ClaimError(ClaimErrorCode.REASON_REQUIRED, _("请填写发放失败原因。"), field="reason")
    now = timezone.now()
    locked = _lock_claims(sorted(failures))
    _refuse(
        [
            _status_problem(number, status, fen)
            for _i, status, fen, number, _m, _p in locked
            if status != ClaimStatus.APPROVED
        ],
        _("发放失败记录"),
    )
    bulk_update_rows(
        Claim,
        ["payment_failed_at", "payment_failure_reason", "updated_at"],
        [(claim_id, (now, failures[claim_id], now)) for claim_id, *_ in locked],
    )
    actor_id = _actor_id(acting_user)
    label = Claim._meta.label_lower
    bulk_insert(
        AuditEvent,
        _AUDIT_FIELDS,
        [
            (
                now,
                actor_id,
                "claim.payment_failed",
                label,
                str(claim_id),
                None,
                json.dumps({"payment_failure_reason": failures[claim_id]}, ensure_ascii=False),
                failures[claim_id],
            )
            for claim_id, *_ in locked
        ],
    )
    text = _(
        "您的申请（%(n)s）互助金%(amt)s元发放失败：%(r)s。请核对或更新银行卡信息，"
        "更新后将在下一批次发放。"
    )
    notify_members_many(
        [
            (
                member_id,
                claim_id,
                "claim_payment_failed",
                text % {"n": number, "amt": format_fen(fen), "r": failures[claim_id]},
            )
            for claim_id, _s, fen, number, member_id, payee in locked
            if payee == PayeeKind.MEMBER
        ]
    )
    return len(locked)


def adjustments_settle_many(*, settlements: list[tuple[int, int]], acting_user, reason: str) -> int:
    """Settle (item id, amount) pairs: a payment netted or paid that much of each item."""
    if not settlements:
        return 0
    now = timezone.now()
    wanted: dict[int, int] = {}
    for item_id, fen in settlements:
        wanted[item_id] = wanted.get(item_id, 0) + fen
    items = []
    for chunk in in_chunks(sorted(wanted)):
        items += list(
            AdjustmentItem.objects.filter(id__in=chunk)
            .select_for_update()
            .order_by("id")
            .values_list("id", "amount_fen", "settled_amount_fen", "status")
        )
    bad = [
        RowProblem(0, "调整项", "adjustment_changed", _("调整项%(i)s已结清或余额不足") % {"i": i})
        for i, amount, settled, status in items
        if status == AdjustmentStatus.SETTLED or settled + wanted[i] > amount
    ]
    if bad:
        raise ClaimStepsRefused(
            ClaimErrorCode.ADJUSTMENT_OVERSETTLED, _("部分调整项已被结清，未做任何处理。"), bad
        )
    updates, events = [], []
    actor_id = _actor_id(acting_user)
    label = AdjustmentItem._meta.label_lower
    for i, amount, settled, status in items:
        new = settled + wanted[i]
        done = new == amount
        new_status = AdjustmentStatus.SETTLED if done else AdjustmentStatus.OPEN
        updates.append((i, (new, new_status, now if done else None)))
        events.append(
            (
                now,
                actor_id,
                "adjustment.settle",
                label,
                str(i),
                json.dumps({"settled_amount_fen": settled, "status": status}),
                json.dumps({"settled_amount_fen": new, "status": new_status}),
                reason,
            )
        )
    bulk_update_rows(AdjustmentItem, ["settled_amount_fen", "status", "settled_at"], updates)
    bulk_insert(AuditEvent, _AUDIT_FIELDS, events)
    return len(items)


def notify_members_many(messages: list[tuple[int, int | None, str, str]]) -> list[int]:
    """Store (member id, claim id, kind, text) notifications now; deliver them after commit
    through a background task, 1,000 per task (never inside the transaction)."""
    if not messages:
        return []
    now = timezone.now()
    ids = bulk_insert(
        Notification,
        ["member_id", "claim_id", "kind", "text", "channels", "error", "created_at"],
        [(m, c, kind, text, "", "", now) for m, c, kind, text in messages],
    )
    chunks = [list(c) for c in in_chunks(ids, 1000)]

    def enqueue():
        for chunk in chunks:
            deliver_notifications.enqueue(chunk)

    transaction.on_commit(enqueue, robust=True)
    return ids


@task()
def deliver_notifications(notification_ids: list[int]) -> int:
    """Deliver stored member notifications one by one (what `notify_members_many` stored);
    when a channel failed, a re-delivery is scheduled after the grace period."""
    failed = False
    for notification_id in notification_ids:
        failed |= bool(deliver(notification_id).error)
    if failed:
        redelivery_schedule()
    return len(notification_ids)
