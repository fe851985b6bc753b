"""Payment batch steps through their services, on the real database."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from huzhu.audit.models import AuditEvent
from huzhu.claims.models import (
    AdjustmentStatus,
    Claim,
    ClaimStatus,
    ClaimTransition,
    Notification,
    PayeeKind,
)
from huzhu.core.tabular import TabularError
from huzhu.payments import bankfile
from huzhu.payments.error_codes import PaymentError, PaymentErrorCode
from huzhu.payments.models import (
    BatchState,
    PaymentLeftOut,
    PaymentRow,
    PaymentRowClaim,
    RowResult,
)
from huzhu.payments.selectors import QueueFilters, payable_claims
from huzhu.payments.services import (
    batch_bank_rows,
    payment_batch_cancel,
    payment_batch_create,
    payment_batch_export,
    payment_batch_import_return,
    payment_batch_mark_sent,
)
from tests.payments.conftest import approved_claim, enrolled_member, recovery, top_up

pytestmark = pytest.mark.django_db

E = PaymentErrorCode
MEMBERS = QueueFilters(payee_kind=PayeeKind.MEMBER)


def _create(user, filters=MEMBERS):
    return payment_batch_create(acting_user=user, filters=filters)


def _send(batch, user, fmt="csv"):
    payment_batch_export(batch=batch, file_format=fmt, acting_user=user)
    return payment_batch_mark_sent(batch=batch, acting_user=user)


def _return_file(batch, outcomes=None):
    return bankfile.write_return_file(batch_bank_rows(batch), outcomes or {})


def test_batch_has_one_row_per_member_listing_its_claims(pworld):
    a = enrolled_member(pworld.w1, pworld.year, name="张三")
    b = enrolled_member(pworld.w2, pworld.year, name="李四")
    c1 = approved_claim(a, pworld.year, 120000)
    c2 = approved_claim(a, pworld.year, 30000, discharge=dt.date(2026, 4, 1))
    c3 = approved_claim(b, pworld.year, 5000)

    result = _create(pworld.finance)

    batch = result.batch
    assert batch.state == BatchState.OPEN
    assert batch.number.startswith("DF")
    assert (batch.row_count, batch.claim_count, batch.total_fen) == (2, 3, 155000)
    rows = {r.name: r for r in batch.rows.all()}
    assert rows["张三"].amount_fen == 150000
    assert rows["张三"].claim_number_list == [c1.number, c2.number]
    assert c1.number in rows["张三"].memo and c2.number in rows["张三"].memo
    assert rows["李四"].claim_number_list == [c3.number]
    assert rows["张三"].account == a.bank_account  # encrypted copy of the member's account
    assert not payable_claims(MEMBERS).exists()  # all locked into the batch
    event = AuditEvent.objects.get(action="payment_batch.create", object_id=str(batch.pk))
    assert event.after["total_fen"] == 155000 and event.actor == pworld.finance


def test_zero_claims_never_enter_and_member_without_account_is_left_out(pworld):
    ok = enrolled_member(pworld.w1, pworld.year, name="有卡")
    nocard = enrolled_member(pworld.w1, pworld.year, name="无卡", account="")
    nobank = enrolled_member(pworld.w1, pworld.year, name="无开户行", bank_name="")
    zero = approved_claim(ok, pworld.year, 0)
    paid = approved_claim(ok, pworld.year, 100)
    left_claim = approved_claim(nocard, pworld.year, 2000)
    approved_claim(nobank, pworld.year, 3000)

    result = _create(pworld.finance)

    assert [lo.code for lo in result.left_out] == ["no_bank_account", "no_bank_name"] or sorted(
        lo.code for lo in result.left_out
    ) == ["no_bank_account", "no_bank_name"]
    stored = {lo.name: lo for lo in PaymentLeftOut.objects.filter(batch=result.batch)}
    assert stored["无卡"].reason == "未登记银行账号"
    assert stored["无卡"].claim_numbers == left_claim.number
    linked = set(PaymentRowClaim.objects.values_list("claim_id", flat=True))
    assert linked == {paid.pk}
    assert zero.pk not in linked
    # The left-out claim stays in the queue.
    assert payable_claims(MEMBERS).filter(pk=left_claim.pk).exists()


def test_filters_pick_union_and_payee_kind(pworld):
    a = enrolled_member(pworld.w1, pworld.year)
    b = enrolled_member(pworld.w2, pworld.year)
    ca = approved_claim(a, pworld.year, 1000)
    approved_claim(b, pworld.year, 2000)
    approved_claim(a, pworld.year, 3000, payee_kind=PayeeKind.HOSPITAL)

    batch = _create(pworld.finance, QueueFilters(union_code="PW1")).batch

    assert list(PaymentRowClaim.objects.filter(batch=batch).values_list("claim_id", flat=True)) == [
        ca.pk
    ]
    with pytest.raises(PaymentError) as exc:
        _create(pworld.finance, QueueFilters(union_code="NOPE"))
    assert exc.value.code == E.BAD_FILTER


def test_claim_in_open_batch_is_not_taken_by_a_second_one(pworld):
    a = enrolled_member(pworld.w1, pworld.year)
    claim = approved_claim(a, pworld.year, 1000)
    first = _create(pworld.finance).batch
    with pytest.raises(PaymentError) as exc:
        _create(pworld.finance2)
    assert exc.value.code == E.NOTHING_TO_PAY
    # The database refuses a second live link even if Python forgot to check.
    row = first.rows.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentRowClaim.objects.create(batch=first, row=row, claim=claim, amount_fen=1000)


def test_export_records_checksum_and_mark_sent_needs_an_export(pworld):
    a = enrolled_member(pworld.w1, pworld.year)
    approved_claim(a, pworld.year, 123456)
    batch = _create(pworld.finance).batch
    with pytest.raises(PaymentError) as exc:
        payment_batch_mark_sent(batch=batch, acting_user=pworld.finance)
    assert exc.value.code == E.NOT_EXPORTED

    exported = payment_batch_export(batch=batch, file_format="xlsx", acting_user=pworld.finance)
    again = payment_batch_export(batch=batch, file_format="xlsx", acting_user=pworld.finance)
    assert exported.checksum == again.checksum == bankfile.checksum(exported.data)
    batch.refresh_from_db()
    assert batch.file_checksum == exported.checksum
    event = AuditEvent.objects.filter(action="payment_batch.export").first()
    assert event.after["checksum"] == exported.checksum
    assert event.after["total_fen"] == 123456

    sent = payment_batch_mark_sent(batch=batch, acting_user=pworld.finance)
    assert sent.state == BatchState.SENT
    with pytest.raises(PaymentError) as exc:
        payment_batch_cancel(batch=batch, acting_user=pworld.finance)
    assert exc.value.code == E.WRONG_STATE


def test_return_file_pays_successes_and_requeues_failures(pworld):
    a = enrolled_member(pworld.w1, pworld.year, name="成功")
    b = enrolled_member(pworld.w1, pworld.year, name="失败")
    ca = approved_claim(a, pworld.year, 50000)
    cb = approved_claim(b, pworld.year, 7000)
    batch = _send(_create(pworld.finance).batch, pworld.finance)
    seq_b = PaymentRow.objects.get(batch=batch, member=b).seq
    data = _return_file(batch, {seq_b: (False, "账户已冻结")})

    result = payment_batch_import_return(
        batch=batch,
        data=data,
        file_name="回盘.csv",
        acting_user=pworld.finance,
        paid_on=dt.date(2026, 11, 26),
    )

    assert result.applied and result.success_count == 1 and result.failed_count == 1
    ca.refresh_from_db()
    cb.refresh_from_db()
    assert ca.status == ClaimStatus.PAID and ca.is_fixed
    assert ca.paid_at.date() == dt.date(2026, 11, 26)
    assert ClaimTransition.objects.filter(claim=ca, to_status=ClaimStatus.PAID).count() == 1
    assert AuditEvent.objects.filter(action="claim.paid", object_id=str(ca.pk)).count() == 1
    assert cb.status == ClaimStatus.APPROVED
    assert "账户已冻结" in cb.payment_failure_reason
    assert Notification.objects.filter(member=b, kind="claim_payment_failed").exists()
    assert Notification.objects.filter(member=a, kind="payment_paid").exists()
    batch.refresh_from_db()
    assert batch.state == BatchState.SETTLED
    assert (batch.success_fen, batch.failed_fen) == (50000, 7000)
    event = AuditEvent.objects.get(action="payment_batch.import_return")
    assert event.after["return_checksum"] == bankfile.checksum(data)

    # The failed claim is back in the queue, but waits until the card is updated.
    assert payable_claims(MEMBERS).filter(pk=cb.pk).exists()
    with pytest.raises(PaymentError) as exc:
        _create(pworld.finance)
    assert exc.value.problems[0].code == "card_not_updated"
    b.bank_account = "6217001540009876543"
    b.save()
    again = _create(pworld.finance).batch
    assert list(again.claim_links.values_list("claim_id", flat=True)) == [cb.pk]


def test_same_return_file_twice_changes_nothing_and_another_is_refused(pworld):
    a = enrolled_member(pworld.w1, pworld.year)
    claim = approved_claim(a, pworld.year, 1000)
    batch = _send(_create(pworld.finance).batch, pworld.finance)
    data = _return_file(batch)
    payment_batch_import_return(batch=batch, data=data, file_name="r.csv", acting_user=None)
    counts = (
        ClaimTransition.objects.count(),
        AuditEvent.objects.count(),
        Notification.objects.count(),
    )

    second = payment_batch_import_return(
        batch=batch, data=data, file_name="r.csv", acting_user=None
    )

    assert second.applied is False
    assert counts == (
        ClaimTransition.objects.count(),
        AuditEvent.objects.count(),
        Notification.objects.count(),
    )
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.PAID
    other = data.replace("成功".encode(), "失败".encode())
    with pytest.raises(PaymentError) as exc:
        payment_batch_import_return(batch=batch, data=other, file_name="r2.csv", acting_user=None)
    assert exc.value.code == E.OTHER_RETURN_APPLIED


def test_mismatched_return_file_is_refused_row_by_row_and_nothing_applied(pworld):
    members = [enrolled_member(pworld.w1, pworld.year) for _ in range(3)]
    claims = [approved_claim(m, pworld.year, 100000 * (i + 1)) for i, m in enumerate(members)]
    batch = _send(_create(pworld.finance).batch, pworld.finance)
    text = _return_file(batch).decode("utf-8-sig")
    text = text.replace("2000.00", "20.00").replace("3000.00", "3000.01")
    before = AuditEvent.objects.count()

    with pytest.raises(PaymentError) as exc:
        payment_batch_import_return(
            batch=batch, data=text.encode(), file_name="bad.csv", acting_user=pworld.finance
        )

    assert exc.value.code == E.RETURN_MISMATCH
    assert [p.code for p in exc.value.problems] == ["amount_mismatch", "amount_mismatch"]
    assert all(p.row > 0 for p in exc.value.problems)
    for c in claims:
        c.refresh_from_db()
        assert c.status == ClaimStatus.APPROVED
    batch.refresh_from_db()
    assert batch.state == BatchState.SENT
    assert AuditEvent.objects.count() == before


def test_unreadable_return_file_is_a_tabular_error(pworld):
    a = enrolled_member(pworld.w1, pworld.year)
    approved_claim(a, pworld.year, 1000)
    batch = _send(_create(pworld.finance).batch, pworld.finance)
    with pytest.raises(TabularError):
        payment_batch_import_return(
            batch=batch, data=b"\x00\x01garbage", file_name="x.csv", acting_user=None
        )


def test_cancel_puts_claims_back_in_the_queue(pworld):
    a = enrolled_member(pworld.w1, pworld.year)
    claim = approved_claim(a, pworld.year, 1000)
    batch = _create(pworld.finance).batch
    payment_batch_cancel(batch=batch, acting_user=pworld.finance, reason="金额待核")
    batch.refresh_from_db()
    assert batch.state == BatchState.CANCELLED
    assert set(batch.claim_links.values_list("released", flat=True)) == {True}
    assert payable_claims(MEMBERS).filter(pk=claim.pk).exists()
    assert _create(pworld.finance).batch.claim_count == 1
    with pytest.raises(PaymentError) as exc:
        payment_batch_export(batch=batch, file_format="csv", acting_user=pworld.finance)
    assert exc.value.code == E.WRONG_STATE


def test_recoveries_are_netted_partly_and_tracked_until_settled(pworld):
    a = enrolled_member(pworld.w1, pworld.year, name="追回")
    old = approved_claim(a, pworld.year, 1, discharge=dt.date(2026, 1, 10))
    r1 = recovery(a, old, 30000)
    r2 = recovery(a, old, 50000)
    approved_claim(a, pworld.year, 60000)

    batch = _create(pworld.finance).batch
    row = batch.rows.get(member=a)
    # gross 600.01: 300.00 of r1, then 300.01 of r2 (partly); nothing left to send
    assert (row.gross_fen, row.netted_fen, row.amount_fen) == (60001, 60001, 0)
    assert row.result == RowResult.OFFSET
    assert batch.netted_fen == 60001 and batch.total_fen == 0
    with pytest.raises(PaymentError):  # nothing to send to the bank
        payment_batch_export(batch=batch, file_format="csv", acting_user=pworld.finance)

    # Marking it sent settles it at once: claims paid by offset, recoveries settled.
    batch = payment_batch_mark_sent(batch=batch, acting_user=pworld.finance)
    assert batch.state == BatchState.SETTLED
    assert Claim.objects.filter(member=a, status=ClaimStatus.PAID).count() == 2
    r1.refresh_from_db()
    r2.refresh_from_db()
    assert r1.status == AdjustmentStatus.SETTLED
    assert (r2.status, r2.settled_amount_fen) == (AdjustmentStatus.OPEN, 30001)


def test_recovery_netted_from_a_paid_row_and_rest_stays_open(pworld):
    a = enrolled_member(pworld.w1, pworld.year, name="部分")
    b = enrolled_member(pworld.w1, pworld.year, name="其他")
    first = approved_claim(a, pworld.year, 100000)
    rec = recovery(a, first, 30000)
    approved_claim(b, pworld.year, 500)
    batch = _create(pworld.finance).batch
    row = batch.rows.get(member=a)
    assert (row.gross_fen, row.netted_fen, row.amount_fen) == (100000, 30000, 70000)
    batch = _send(batch, pworld.finance, "xlsx")
    payment_batch_import_return(
        batch=batch, data=_return_file(batch), file_name="r.csv", acting_user=pworld.finance
    )
    rec.refresh_from_db()
    assert rec.status == AdjustmentStatus.SETTLED and rec.settled_amount_fen == 30000
    # sum paid = sum approved - recoveries netted
    batch.refresh_from_db()
    assert batch.success_fen == 100000 + 500 - 30000

    # A bigger recovery is netted partly and stays open for the rest.
    big = recovery(a, first, 80000)
    approved_claim(a, pworld.year, 20000, discharge=dt.date(2026, 5, 1))
    approved_claim(b, pworld.year, 900, discharge=dt.date(2026, 5, 1))
    batch2 = _send(_create(pworld.finance).batch, pworld.finance)
    row_a = batch2.rows.get(member=a)
    assert (row_a.netted_fen, row_a.amount_fen, row_a.result) == (20000, 0, RowResult.OFFSET)
    assert [r.seq for r in batch_bank_rows(batch2)] == [1]  # only b goes to the bank
    payment_batch_import_return(
        batch=batch2, data=_return_file(batch2), file_name="r.csv", acting_user=None
    )
    big.refresh_from_db()
    assert big.status == AdjustmentStatus.OPEN and big.outstanding_fen == 60000
    assert Claim.objects.filter(member=a, status=ClaimStatus.PAID).count() == 2


def test_top_up_is_paid_like_a_claim(pworld):
    a = enrolled_member(pworld.w1, pworld.year)
    paid_claim = approved_claim(a, pworld.year, 1000)
    item = top_up(a, paid_claim, 2500)
    batch = _create(pworld.finance).batch
    row = batch.rows.get(member=a)
    assert row.gross_fen == 3500
    batch = _send(batch, pworld.finance)
    payment_batch_import_return(
        batch=batch, data=_return_file(batch), file_name="r.csv", acting_user=None
    )
    item.refresh_from_db()
    assert item.status == AdjustmentStatus.SETTLED


def test_failed_row_releases_netted_recovery(pworld):
    a = enrolled_member(pworld.w1, pworld.year)
    c = approved_claim(a, pworld.year, 10000)
    rec = recovery(a, c, 1000)
    batch = _send(_create(pworld.finance).batch, pworld.finance)
    payment_batch_import_return(
        batch=batch,
        data=_return_file(batch, {1: (False, "户名不符")}),
        file_name="r.csv",
        acting_user=None,
    )
    rec.refresh_from_db()
    assert rec.status == AdjustmentStatus.OPEN and rec.settled_amount_fen == 0


def test_union_operator_may_not_create_batches(pworld):
    a = enrolled_member(pworld.w1, pworld.year)
    approved_claim(a, pworld.year, 1000)
    with pytest.raises(PaymentError) as exc:
        _create(pworld.operator)
    assert exc.value.code == E.ROLE_NOT_ALLOWED


def test_hospital_without_registered_account_is_left_out(pworld):
    a = enrolled_member(pworld.w1, pworld.year)
    approved_claim(a, pworld.year, 1000, payee_kind=PayeeKind.HOSPITAL)
    with pytest.raises(PaymentError) as exc:
        _create(pworld.finance, QueueFilters(payee_kind=PayeeKind.HOSPITAL))
    assert exc.value.code == E.NOTHING_TO_PAY
    assert exc.value.problems[0].code == "no_hospital_account"


def test_voided_claim_blocks_mark_sent(pworld):
    from huzhu.claims.services import claim_void

    a = enrolled_member(pworld.w1, pworld.year)
    claim = approved_claim(a, pworld.year, 1000)
    batch = _create(pworld.finance).batch
    payment_batch_export(batch=batch, file_format="csv", acting_user=pworld.finance)
    claim_void(claim=claim, reason="冲正")
    with pytest.raises(PaymentError) as exc:
        payment_batch_mark_sent(batch=batch, acting_user=pworld.finance)
    assert exc.value.code == E.CLAIMS_CHANGED
    assert claim.number in exc.value.problems[0].message


def _hospital_model():
    from django.apps import apps

    try:
        return apps.get_model("hospitals", "Hospital")
    except LookupError:
        return None


@pytest.mark.skipif(_hospital_model() is None, reason="the hospital registry is not installed")
def test_hospital_batch_pays_one_row_per_hospital_from_the_registry(pworld):
    hospital = _hospital_model()(code="H001", name="嵊州市人民医院", bank_name="中国银行嵊州支行")
    hospital.bank_account = "6013820000123456789"
    hospital.save()
    a = enrolled_member(pworld.w1, pworld.year)
    b = enrolled_member(pworld.w2, pworld.year)
    c1 = approved_claim(a, pworld.year, 1000, payee_kind=PayeeKind.HOSPITAL)
    c2 = approved_claim(b, pworld.year, 2500, payee_kind=PayeeKind.HOSPITAL)
    approved_claim(a, pworld.year, 700)  # a member payee: not in a hospital batch

    batch = _create(pworld.finance, QueueFilters(payee_kind=PayeeKind.HOSPITAL)).batch

    row = batch.rows.get()
    assert (row.hospital_code, row.name, row.amount_fen) == ("H001", "嵊州市人民医院", 3500)
    assert row.account == "6013820000123456789"
    assert row.claim_number_list == [c1.number, c2.number]
    batch = _send(batch, pworld.finance)
    payment_batch_import_return(
        batch=batch, data=_return_file(batch), file_name="r.csv", acting_user=None
    )
    assert Claim.objects.filter(status=ClaimStatus.PAID).count() == 2
    # The hospital is not a member: nobody is told by message.
    assert not Notification.objects.filter(kind="payment_paid").exists()


def test_claim_voided_after_sending_refuses_the_return_and_changes_nothing(pworld):
    from huzhu.claims.services import claim_void

    a = enrolled_member(pworld.w1, pworld.year)
    b = enrolled_member(pworld.w1, pworld.year)
    ok = approved_claim(a, pworld.year, 1000)
    voided = approved_claim(b, pworld.year, 2000)
    batch = _send(_create(pworld.finance).batch, pworld.finance)
    claim_void(claim=voided, reason="冲正")
    transitions = ClaimTransition.objects.count()

    with pytest.raises(PaymentError) as exc:
        payment_batch_import_return(
            batch=batch, data=_return_file(batch), file_name="r.csv", acting_user=None
        )

    assert exc.value.code == E.CLAIMS_CHANGED
    assert voided.number in exc.value.problems[0].message
    ok.refresh_from_db()
    assert ok.status == ClaimStatus.APPROVED
    assert ClaimTransition.objects.count() == transitions
    batch.refresh_from_db()
    assert batch.state == BatchState.SENT
