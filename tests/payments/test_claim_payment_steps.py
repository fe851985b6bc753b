"""huzhu.claims.payment_steps: the claims core's payment steps for many claims at once."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from huzhu.audit.models import AuditEvent
from huzhu.claims.error_codes import ClaimErrorCode
from huzhu.claims.models import AdjustmentStatus, ClaimStatus, ClaimTransition, Notification
from huzhu.claims.payment_steps import (
    ClaimStepsRefused,
    adjustments_settle_many,
    claims_mark_paid_many,
    claims_record_payment_failure_many,
)
from huzhu.claims.services import claim_void
from huzhu.payments.models import PaymentRowClaim
from huzhu.payments.selectors import QueueFilters
from huzhu.payments.services import payment_batch_create
from tests.payments.conftest import approved_claim, enrolled_member, recovery

pytestmark = pytest.mark.django_db
PAID_AT = timezone.make_aware(dt.datetime(2026, 11, 26, 12, 0))


def _batch_with(pworld, n):
    claims = [
        approved_claim(enrolled_member(pworld.w1, pworld.year), pworld.year, 1000 + i)
        for i in range(n)
    ]
    batch = payment_batch_create(acting_user=pworld.finance, filters=QueueFilters()).batch
    return batch, claims


def test_mark_paid_many_writes_what_claim_mark_paid_writes(pworld):
    batch, claims = _batch_with(pworld, 3)
    with transaction.atomic():
        paid = claims_mark_paid_many(
            pays=PaymentRowClaim.objects.filter(batch=batch),
            acting_user=pworld.finance,
            paid_at=PAID_AT,
            reason="代发成功",
        )
    assert paid == 3
    for claim in claims:
        claim.refresh_from_db()
        assert (claim.status, claim.is_fixed, claim.paid_at) == (ClaimStatus.PAID, True, PAID_AT)
        t = ClaimTransition.objects.get(claim=claim, to_status=ClaimStatus.PAID)
        assert (t.from_status, t.actor, t.reason) == (
            ClaimStatus.APPROVED,
            pworld.finance,
            "代发成功",
        )
        assert AuditEvent.objects.filter(action="claim.paid", object_id=str(claim.pk)).count() == 1


def test_mark_paid_many_refuses_all_when_one_claim_changed(pworld):
    batch, claims = _batch_with(pworld, 3)
    claim_void(claim=claims[1], reason="冲正")
    with pytest.raises(ClaimStepsRefused) as exc, transaction.atomic():
        claims_mark_paid_many(
            pays=PaymentRowClaim.objects.filter(batch=batch),
            acting_user=None,
            paid_at=PAID_AT,
            reason="x",
        )
    assert [p.code for p in exc.value.problems] == ["claim_changed"]
    assert claims[1].number in exc.value.problems[0].message
    claims[0].refresh_from_db()
    assert claims[0].status == ClaimStatus.APPROVED  # rolled back with the transaction


def test_union_operator_may_not_mark_paid(pworld):
    batch, _ = _batch_with(pworld, 1)
    with pytest.raises(Exception) as exc, transaction.atomic():
        claims_mark_paid_many(
            pays=PaymentRowClaim.objects.filter(batch=batch),
            acting_user=pworld.operator,
            paid_at=PAID_AT,
            reason="x",
        )
    assert exc.value.code == ClaimErrorCode.ROLE_NOT_ALLOWED


def test_failure_many_keeps_claims_approved_and_tells_members(pworld):
    _batch, claims = _batch_with(pworld, 2)
    with transaction.atomic():
        n = claims_record_payment_failure_many(
            failures={claims[0].pk: "账户已冻结", claims[1].pk: "户名不符"}, acting_user=None
        )
    assert n == 2
    claims[1].refresh_from_db()
    assert (claims[1].status, claims[1].payment_failure_reason) == (
        ClaimStatus.APPROVED,
        "户名不符",
    )
    texts = list(
        Notification.objects.filter(kind="claim_payment_failed").values_list("text", flat=True)
    )
    assert len(texts) == 2 and any("户名不符" in t for t in texts)


def test_adjustments_settle_many_refuses_oversettling(pworld):
    a = enrolled_member(pworld.w1, pworld.year)
    claim = approved_claim(a, pworld.year, 1000)
    item = recovery(a, claim, 500)
    with transaction.atomic():
        adjustments_settle_many(settlements=[(item.pk, 200)], acting_user=None, reason="x")
    item.refresh_from_db()
    assert (item.settled_amount_fen, item.status) == (200, AdjustmentStatus.OPEN)
    with pytest.raises(ClaimStepsRefused), transaction.atomic():
        adjustments_settle_many(settlements=[(item.pk, 301)], acting_user=None, reason="x")
    with transaction.atomic():
        adjustments_settle_many(settlements=[(item.pk, 300)], acting_user=None, reason="x")
    item.refresh_from_db()
    assert item.status == AdjustmentStatus.SETTLED and item.settled_at is not None


def test_claim_mark_paid_and_a_bank_return_write_the_same_trail(pworld):
    from huzhu.claims.services import claim_mark_paid

    batch, (in_batch,) = _batch_with(pworld, 1)
    alone = approved_claim(enrolled_member(pworld.w1, pworld.year), pworld.year, 2000)
    with transaction.atomic():
        claims_mark_paid_many(
            pays=PaymentRowClaim.objects.filter(batch=batch),
            acting_user=pworld.finance,
            paid_at=PAID_AT,
            reason="代发成功",
        )
    claim_mark_paid(claim=alone, acting_user=pworld.finance, paid_at=PAID_AT, reason="代发成功")

    def trail(claim):
        t = ClaimTransition.objects.get(claim=claim, to_status=ClaimStatus.PAID)
        a = AuditEvent.objects.get(action="claim.paid", object_id=str(claim.pk))
        claim.refresh_from_db()
        return (
            (claim.status, claim.is_fixed, claim.paid_at),
            (t.from_status, t.actor_id, t.reason),
            (a.actor_id, a.before, a.after, a.reason),
        )

    assert trail(alone) == trail(in_batch)
    # The claim paid alone tells its member; a batch's members get one message per payment.
    assert Notification.objects.filter(claim=alone, kind="claim_paid").count() == 1
