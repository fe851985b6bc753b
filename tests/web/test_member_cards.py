"""银行卡待补录: members whose money cannot go out, and the reminder to them."""

import pytest
from django.urls import reverse
from django.utils import timezone

from huzhu.audit.models import AuditEvent
from huzhu.claims.models import Notification
from tests.factories import ClaimFactory, EnrollmentFactory, MemberFactory

pytestmark = pytest.mark.django_db


def _member(union, name, *, card=True, **kwargs):
    member = MemberFactory(union=union, name=name)
    if card:
        member.bank_name = "中国农业银行嵊州支行"
        member.bank_account = "6228480329123456789"
        member.save()
    EnrollmentFactory(member=member, union=union)
    return member


def test_worklist_names_members_without_a_valid_card_money_first_and_reminds_them(
    login, operator_a, tree
):
    # Given: one member without a card, one with money waiting and no card, one whose last
    # payment the bank refused, one with a good card, and one of another union
    idle = _member(tree["a"], "甲无卡", card=False)
    owed = _member(tree["a"], "乙有钱无卡", card=False)
    ClaimFactory(enrollment=owed.enrollments.get(), status="approved", amount_fen=345_600)
    refused = _member(tree["a"], "丙被退回")
    ClaimFactory(
        enrollment=refused.enrollments.get(),
        status="approved",
        amount_fen=100_000,
        payment_failed_at=timezone.now(),
        payment_failure_reason="账户已销户",
    )
    _member(tree["a"], "丁正常")
    _member(tree["b"], "戊别的工会", card=False)
    client = login(operator_a)

    page = client.get(reverse("web:member_card_worklist")).content.decode()
    assert "丁正常" not in page and "戊别的工会" not in page
    assert page.index("乙有钱无卡") < page.index("甲无卡")  # money waiting comes first
    assert "3,456.00" in page and "银行退回上次发放：账户已销户" in page

    # When the operator sends the reminders to everyone listed
    ids = [idle.pk, owed.pk, refused.pk]
    client.post(reverse("web:member_card_worklist"), {"member": ids})
    notes = {n.member_id: n.text for n in Notification.objects.filter(kind="bank_card_request")}
    assert set(notes) == set(ids)
    assert "您有3,456.00元职工医疗互助金等待发放，您还没有登记银行卡" in notes[owed.pk]
    assert "银行退回了上次的发放（账户已销户）" in notes[refused.pk]
    assert AuditEvent.objects.filter(action="member.bank_card_reminder").count() == 1
    # and again the same day: nobody is reminded twice within a week
    response = client.post(reverse("web:member_card_worklist"), {"member": ids}, follow=True)
    assert Notification.objects.filter(kind="bank_card_request").count() == 3
    assert "一周内已提醒过" in response.content.decode()
