"""Adjustment items: top-ups and recoveries after a claim is fixed, settled partly or fully."""

import pytest

from huzhu.audit.models import AuditEvent
from huzhu.claims.error_codes import ClaimError, ClaimErrorCode
from huzhu.claims.models import AdjustmentItem, AdjustmentKind, AdjustmentStatus, ClaimStatus
from huzhu.claims.selectors import adjustment_open_items
from huzhu.claims.services import adjustment_create, adjustment_settle
from tests.factories import AdjustmentItemFactory, ClaimFactory

E = ClaimErrorCode


def test_recovery_is_created_audited_and_listed_as_open(world):
    claim = ClaimFactory(enrollment=world.member.enrollments.get(), status=ClaimStatus.PAID)
    item = adjustment_create(
        claim=claim, kind=AdjustmentKind.RECOVERY, amount_fen=30_000, reason="结算记录冲正"
    )
    assert (item.member, item.status, item.outstanding_fen) == (world.member, "open", 30_000)
    assert AuditEvent.objects.get(action="adjustment.recovery").after["amount_fen"] == 30_000
    assert list(adjustment_open_items(member_id=world.member.pk)) == [item]


def test_partial_then_full_settlement(db):
    item = AdjustmentItemFactory(amount_fen=10_000)
    item = adjustment_settle(item=item, amount_fen=4_000, reason="从批次B1抵扣")
    assert (item.status, item.outstanding_fen, item.settled_at) == ("open", 6_000, None)
    item = adjustment_settle(item=item, amount_fen=6_000)
    assert item.status == AdjustmentStatus.SETTLED and item.settled_at is not None
    assert list(adjustment_open_items()) == []
    assert AuditEvent.objects.filter(action="adjustment.settle").count() == 2


def test_settling_more_than_outstanding_or_a_settled_item_is_refused(db):
    item = AdjustmentItemFactory(amount_fen=10_000)
    with pytest.raises(ClaimError) as err:
        adjustment_settle(item=item, amount_fen=10_001)
    assert err.value.code == E.ADJUSTMENT_OVERSETTLED
    adjustment_settle(item=item, amount_fen=10_000)
    with pytest.raises(ClaimError) as err:
        adjustment_settle(item=item, amount_fen=1)
    assert err.value.code == E.ADJUSTMENT_SETTLED
    assert AdjustmentItem.objects.get(pk=item.pk).settled_amount_fen == 10_000


@pytest.mark.parametrize(
    "kwargs,code",
    [
        ({"kind": "bonus", "amount_fen": 1, "reason": "x"}, E.INVALID_FIELD),
        ({"kind": "top_up", "amount_fen": 0, "reason": "x"}, E.INVALID_AMOUNT),
        ({"kind": "top_up", "amount_fen": "5", "reason": "x"}, E.INVALID_AMOUNT),
        ({"kind": "top_up", "amount_fen": 5, "reason": " "}, E.REASON_REQUIRED),
    ],
)
def test_bad_adjustment_input_is_refused(world, kwargs, code):
    claim = ClaimFactory(enrollment=world.member.enrollments.get(), status=ClaimStatus.PAID)
    with pytest.raises(ClaimError) as err:
        adjustment_create(claim=claim, **kwargs)
    assert err.value.code == code
    assert not AdjustmentItem.objects.exists()


def test_members_and_operators_cannot_create_adjustments(world):
    claim = ClaimFactory(enrollment=world.member.enrollments.get(), status=ClaimStatus.PAID)
    for user in (world.member_user, world.operator):
        with pytest.raises(ClaimError) as err:
            adjustment_create(
                claim=claim, kind="top_up", amount_fen=5, reason="x", acting_user=user
            )
        assert err.value.code == E.ROLE_NOT_ALLOWED
