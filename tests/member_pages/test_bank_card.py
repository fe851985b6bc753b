"""My bank card: own name only, audited, pending payments named (never silently moved)."""

import pytest

from huzhu.audit.models import AuditEvent
from huzhu.claims.models import ClaimStatus
from tests.factories import ClaimFactory


@pytest.fixture
def member_client(client, world):
    client.force_login(world.member.user)
    return client


def test_account_in_another_name_is_refused(member_client, world):
    response = member_client.post(
        "/m/bank-card/",
        {"account_name": "李四", "bank_name": "工商银行", "bank_account": "6222020012345678"},
    )
    assert "户名“李四”与职工本人姓名不一致" in response.content.decode()
    world.member.refresh_from_db()
    assert world.member.bank_account == "6228480012345678"


def test_change_is_audited_masked_and_names_the_pending_payment(member_client, world):
    pending = ClaimFactory(
        enrollment=world.member.enrollments.get(scheme_year__year=2026),
        status=ClaimStatus.APPROVED,
        amount_fen=125_000,
    )
    page = member_client.get("/m/bank-card/").content.decode()
    assert pending.number in page and "待发放" in page
    response = member_client.post(
        "/m/bank-card/",
        {
            "account_name": "张伟",
            "bank_name": "中国工商银行嵊州支行",
            "bank_account": "6222 0200 9999 8888",
        },
        follow=True,
    )
    text = response.content.decode()
    assert "银行卡已更新为中国工商银行嵊州支行尾号8888" in text
    assert f"待发放的申请{pending.number}将发放到新卡" in text
    world.member.refresh_from_db()
    assert world.member.bank_account == "6222020099998888"
    event = AuditEvent.objects.get(action="member.bank_card_change")
    assert event.before["bank_account"].endswith("5678") and "6228" not in str(event.before)
    assert event.after["bank_account"].endswith("8888")
    assert event.after["paid_to_new_account"] == [pending.number]


def test_bad_account_number_is_refused(member_client):
    response = member_client.post(
        "/m/bank-card/",
        {"account_name": "张伟", "bank_name": "农行", "bank_account": "6.22848E+18"},
    )
    assert "银行账号已被Excel转换成数字" in response.content.decode()


def test_claim_already_in_a_payment_batch_stays_with_the_old_account(member_client, world):
    from huzhu.organizations.models import Role
    from huzhu.payments.selectors import QueueFilters
    from huzhu.payments.services import payment_batch_create
    from tests.factories import UserFactory

    enrollment = world.member.enrollments.get(scheme_year__year=2026)
    in_batch = ClaimFactory(enrollment=enrollment, status=ClaimStatus.APPROVED, amount_fen=125_000)
    finance = UserFactory(role=Role.FEDERATION_FINANCE, union=world.fed)
    payment_batch_create(acting_user=finance, filters=QueueFilters(union_code=world.w1.code))
    waiting = ClaimFactory(
        enrollment=enrollment,
        status=ClaimStatus.APPROVED,
        amount_fen=50_000,
        admit_date=in_batch.admit_date.replace(month=7),
        discharge_date=in_batch.discharge_date.replace(month=7),
    )
    response = member_client.post(
        "/m/bank-card/",
        {
            "account_name": "张伟",
            "bank_name": "中国银行嵊州支行",
            "bank_account": "6217000011112222",
        },
        follow=True,
    )
    text = response.content.decode()
    assert f"申请{in_batch.number}已纳入发放批次，仍发放到原账户尾号5678" in text
    assert f"待发放的申请{waiting.number}将发放到新卡" in text
    event = AuditEvent.objects.get(action="member.bank_card_change")
    assert event.after["already_in_batch"] == [in_batch.number]
