"""Never twice, proved on PostgreSQL: threads with their own connections race each other."""

import pytest
from django.db.models import Sum

from huzhu.claims.models import AdjustmentItem, Claim, ClaimStatus, ClaimTransition, PayeeKind
from huzhu.payments import bankfile
from huzhu.payments.error_codes import PaymentError, PaymentErrorCode
from huzhu.payments.models import (
    PaymentBatch,
    PaymentReturn,
    PaymentRowAdjustment,
    PaymentRowClaim,
)
from huzhu.payments.selectors import QueueFilters
from huzhu.payments.services import (
    batch_bank_rows,
    payment_batch_create,
    payment_batch_export,
    payment_batch_import_return,
    payment_batch_mark_sent,
)
from tests.concurrency import run_together
from tests.payments.conftest import approved_claim, build_world, enrolled_member, recovery

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_batch_creation_gives_each_claim_to_exactly_one_batch():
    world = build_world()
    members = [enrolled_member(world.w1 if i % 2 else world.w2, world.year) for i in range(12)]
    claims = [approved_claim(m, world.year, 10000 + i * 137) for i, m in enumerate(members)]
    claims += [approved_claim(m, world.year, 555) for m in members[:4]]
    recovery(members[0], claims[0], 3000)
    recovery(members[1], claims[1], 20000)  # more than that member's payments: netted partly
    approved_sum = sum(c.amount_fen for c in claims)
    users = [world.finance, world.finance2] * 3
    filters = [
        QueueFilters(),
        QueueFilters(union_code="PW1"),
        QueueFilters(),
        QueueFilters(union_code="PW2"),
        QueueFilters(),
        QueueFilters(),
    ]

    results = run_together(
        [
            (lambda u=u, f=f: payment_batch_create(acting_user=u, filters=f))
            for u, f in zip(users, filters, strict=True)
        ]
    )

    made = [r for r in results if not isinstance(r, Exception)]
    errors = [r for r in results if isinstance(r, Exception)]
    assert made, results
    assert all(
        isinstance(e, PaymentError) and e.code == PaymentErrorCode.NOTHING_TO_PAY for e in errors
    ), errors
    # Every claim is in exactly one batch.
    links = list(PaymentRowClaim.objects.filter(released=False))
    assert sorted(link.claim_id for link in links) == sorted(c.pk for c in claims)
    assert len({link.batch_id for link in links}) == len(made)
    # Each recovery is netted at most once.
    assert (
        PaymentRowAdjustment.objects.filter(state="pending")
        .values("adjustment_id")
        .distinct()
        .count()
        == PaymentRowAdjustment.objects.filter(state="pending").count()
    )

    # Pay every batch: sum paid = sum approved − recoveries netted.
    netted = 0
    for batch in PaymentBatch.objects.all():
        netted += batch.netted_fen
        payment_batch_export(batch=batch, file_format="csv", acting_user=world.finance)
        payment_batch_mark_sent(batch=batch, acting_user=world.finance)
        data = bankfile.write_return_file(batch_bank_rows(batch), {})
        payment_batch_import_return(batch=batch, data=data, file_name="r.csv", acting_user=None)
    paid = PaymentBatch.objects.aggregate(s=Sum("success_fen"))["s"]
    assert netted == 3000 + min(20000, 10137 + 555)
    assert paid == approved_sum - netted
    assert Claim.objects.filter(status=ClaimStatus.PAID).count() == len(claims)
    assert ClaimTransition.objects.filter(to_status=ClaimStatus.PAID).count() == len(claims)
    settled = AdjustmentItem.objects.aggregate(s=Sum("settled_amount_fen"))["s"]
    assert settled == netted


def test_two_finance_users_importing_the_same_return_file_apply_it_once():
    world = build_world()
    members = [enrolled_member(world.w1, world.year) for _ in range(8)]
    for m in members:
        approved_claim(m, world.year, 4321)
    batch = payment_batch_create(
        acting_user=world.finance, filters=QueueFilters(payee_kind=PayeeKind.MEMBER)
    ).batch
    payment_batch_export(batch=batch, file_format="xlsx", acting_user=world.finance)
    payment_batch_mark_sent(batch=batch, acting_user=world.finance)
    data = bankfile.write_return_file(batch_bank_rows(batch), {3: (False, "账号不存在")})

    results = run_together(
        [
            (
                lambda u=u: payment_batch_import_return(
                    batch=batch, data=data, file_name="回盘.csv", acting_user=u
                )
            )
            for u in (world.finance, world.finance2, world.finance, world.finance2)
        ]
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.applied for r in results) == [False, False, False, True]
    assert PaymentReturn.objects.filter(batch=batch).count() == 1
    assert ClaimTransition.objects.filter(to_status=ClaimStatus.PAID).count() == 7
    assert Claim.objects.filter(status=ClaimStatus.PAID).count() == 7
    failed = Claim.objects.get(payment_failed_at__isnull=False)
    assert failed.status == ClaimStatus.APPROVED
