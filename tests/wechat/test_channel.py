"""Claim news as WeChat template messages, SMS when WeChat cannot reach the member, answers
stored, transient failures left for the re-delivery."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from huzhu.claims.models import ClaimSource, ClaimStatus, ClaimTransition, Notification
from huzhu.claims.notifications import notifications_redeliver, notify_member
from huzhu.wechat.models import DeliveryAnswer
from huzhu.wechat.services import wechat_bind
from tests.factories import ClaimFactory

pytestmark = pytest.mark.django_db

OPENID = "o_member_0001"


@pytest.fixture
def claim(db):
    return ClaimFactory(
        status=ClaimStatus.APPROVED, amount_fen=108_000, enrollment__member__phone="13800002222"
    )


def notify(claim, kind, text, capture):
    with capture(execute=True):
        note = notify_member(member=claim.member, kind=kind, text=text, claim=claim)
    note.refresh_from_db()
    return note


def test_approved_claim_reaches_the_bound_member_as_a_template_message(
    claim, fake_wechat, django_capture_on_commit_callbacks
):
    wechat_bind(member=claim.member, openid=OPENID)
    note = notify(claim, "claim_approved", "您的申请已审核通过", django_capture_on_commit_callbacks)

    assert note.sent_at is not None and note.channels == "wechat" and note.error == ""
    [sent] = fake_wechat.messages
    assert sent["touser"] == OPENID
    assert sent["template_id"] == "tpl_approved"
    assert sent["url"] == f"http://127.0.0.1:8000/m/wechat/?next=/m/claims/{claim.pk}/"
    data = {k: v["value"] for k, v in sent["data"].items()}
    assert data["character_string1"] == claim.number
    assert data["thing2"] == "住院医疗互助"
    assert data["amount3"] == "1080.00元"
    assert data["phrase4"] == "审核通过"
    assert set(data) == {"character_string1", "thing2", "amount3", "phrase4", "thing5", "time6"}
    [answer] = DeliveryAnswer.objects.filter(notification=note)
    assert answer.ok and answer.channel == "wechat"
    assert json.loads(answer.answer)["msgid"] == sent["msgid"]


def test_member_without_openid_gets_an_sms(
    claim, fake_wechat, fake_sms, django_capture_on_commit_callbacks
):
    note = notify(claim, "claim_approved", "您的申请已审核通过", django_capture_on_commit_callbacks)
    assert note.channels == "sms" and note.sent_at is not None
    assert fake_wechat.messages == []
    [sms] = fake_sms.messages
    assert sms["phone"] == "+8613800002222" and sms["template"] == "100002"
    assert sms["params"] == [claim.number, "审核通过", "1080.00元"]
    answer = DeliveryAnswer.objects.get(notification=note)
    assert answer.channel == "sms" and answer.ok and answer.answer.startswith("Ok SerialNo=")


@pytest.mark.parametrize(("refusal", "errcode"), [("unfollowed", 43004), ("refuse_all", 43101)])
def test_wechat_refusal_falls_back_to_sms_and_both_answers_are_stored(
    claim, fake_wechat, fake_sms, django_capture_on_commit_callbacks, refusal, errcode
):
    wechat_bind(member=claim.member, openid=OPENID)
    getattr(fake_wechat, refusal).add(OPENID)
    note = notify(claim, "claim_paid", "互助金已发放", django_capture_on_commit_callbacks)
    assert note.channels == "sms" and note.sent_at is not None
    assert [
        (a.channel, a.ok, a.code) for a in DeliveryAnswer.objects.filter(notification=note)
    ] == [
        ("wechat", False, str(errcode)),
        ("sms", True, "Ok"),
    ]
    assert fake_sms.messages[0]["params"][1] == "已发放"


def test_transient_wechat_failure_is_stored_and_redelivered(
    claim, fake_wechat, fake_sms, django_capture_on_commit_callbacks
):
    wechat_bind(member=claim.member, openid=OPENID)
    fake_wechat.busy = 1  # system busy once
    note = notify(claim, "claim_approved", "审核通过", django_capture_on_commit_callbacks)
    assert note.sent_at is None and "-1" in note.error
    assert fake_sms.messages == []  # busy is not a refusal: no SMS

    Notification.objects.filter(pk=note.pk).update(created_at=timezone.now() - timedelta(hours=1))
    result = notifications_redeliver()
    assert (result.tried, result.sent) == (1, 1)
    note.refresh_from_db()
    assert note.channels == "wechat" and note.attempts == 1
    assert len(fake_wechat.messages) == 1
    assert [a.ok for a in DeliveryAnswer.objects.filter(notification=note)] == [False, True]


def test_sms_provider_error_is_stored_and_redelivered(
    claim, fake_wechat, fake_sms, django_capture_on_commit_callbacks
):
    fake_sms.error_next = 1
    note = notify(claim, "claim_approved", "审核通过", django_capture_on_commit_callbacks)
    assert note.sent_at is None and "LimitExceeded.PhoneNumberDailyLimit" in note.error
    failed = DeliveryAnswer.objects.get(notification=note)
    assert failed.channel == "sms" and not failed.ok

    Notification.objects.filter(pk=note.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert notifications_redeliver().sent == 1
    note.refresh_from_db()
    assert note.channels == "sms" and len(fake_sms.messages) == 1


def test_auto_claim_created_by_the_platform_uses_the_auto_claim_template(
    fake_wechat, django_capture_on_commit_callbacks
):
    claim = ClaimFactory(status=ClaimStatus.APPROVED, source=ClaimSource.AUTO, amount_fen=250_050)
    wechat_bind(member=claim.member, openid=OPENID)
    notify(claim, "claim_approved", "已自动受理", django_capture_on_commit_callbacks)
    [sent] = fake_wechat.messages
    assert sent["template_id"] == "tpl_auto_claim"
    assert sent["data"]["amount3"]["value"] == "2500.50元"
    assert sent["data"]["phrase4"]["value"] == "已自动受理"


def test_auto_claim_approved_by_a_reviewer_uses_the_approved_template(
    fake_wechat, django_capture_on_commit_callbacks
):
    from tests.factories import UserFactory

    claim = ClaimFactory(status=ClaimStatus.APPROVED, source=ClaimSource.AUTO)
    ClaimTransition.objects.create(
        claim=claim, from_status="submitted", to_status="approved", actor=UserFactory()
    )
    wechat_bind(member=claim.member, openid=OPENID)
    notify(claim, "claim_approved", "审核通过", django_capture_on_commit_callbacks)
    assert fake_wechat.messages[0]["template_id"] == "tpl_approved"


def test_returned_claim_says_what_to_fix(fake_wechat, django_capture_on_commit_callbacks):
    claim = ClaimFactory(status=ClaimStatus.RETURNED)
    ClaimTransition.objects.create(
        claim=claim, from_status="submitted", to_status="returned", reason="请补拍发票原件"
    )
    wechat_bind(member=claim.member, openid=OPENID)
    notify(claim, "claim_returned", "被退回：请补拍发票原件", django_capture_on_commit_callbacks)
    [sent] = fake_wechat.messages
    assert sent["template_id"] == "tpl_returned"
    assert sent["data"]["thing5"]["value"] == "请补拍发票原件"
    assert "amount3" not in sent["data"]


def test_payment_failed_asks_to_fix_the_card(fake_wechat, django_capture_on_commit_callbacks):
    claim = ClaimFactory(status=ClaimStatus.APPROVED, payment_failure_reason="账户已销户")
    wechat_bind(member=claim.member, openid=OPENID)
    notify(claim, "claim_payment_failed", "发放失败", django_capture_on_commit_callbacks)
    data = fake_wechat.messages[0]["data"]
    assert fake_wechat.messages[0]["template_id"] == "tpl_payment_failed"
    assert data["thing5"]["value"] == "请更新银行卡：账户已销户"


def test_without_app_id_the_channel_is_off(claim, settings, django_capture_on_commit_callbacks):
    settings.HUZHU_WECHAT = {"APPID": ""}
    settings.HUZHU_NOTIFY_CHANNELS = ["wechat"]
    note = notify(claim, "claim_approved", "审核通过", django_capture_on_commit_callbacks)
    assert note.sent_at is None and note.error == "" and note.channels == ""
    assert not DeliveryAnswer.objects.exists()
