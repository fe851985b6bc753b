"""Member notifications: stored with the change, delivered on commit, through configured channels."""

import io

import pytest
from django.core import mail
from django.db import transaction

from huzhu.claims.models import Notification
from huzhu.claims.notifications import (
    ConsoleChannel,
    SmsChannel,
    WeChatTemplateChannel,
    notify_member,
)
from tests.claims import channels_for_tests
from tests.factories import MemberFactory, UserFactory


@pytest.fixture
def member(db):
    member = MemberFactory(phone="13800001111")
    member.user = UserFactory(role="member", union=None, email="w@example.cn")
    member.save()
    return member


def test_stored_now_and_sent_only_on_commit(member, django_capture_on_commit_callbacks, capsys):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        note = notify_member(member=member, kind="test", text="您的申请已受理")
    assert Notification.objects.get(pk=note.pk).sent_at is None
    assert capsys.readouterr().out == ""
    assert len(callbacks) == 1

    callbacks[0]()
    stored = Notification.objects.get(pk=note.pk)
    assert stored.sent_at is not None and stored.channels == "console"
    assert "您的申请已受理" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_rolled_back_change_stores_and_sends_nothing(capsys):
    member = MemberFactory()

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with transaction.atomic():
            notify_member(member=member, kind="test", text="不应发送")
            raise Boom
    assert not Notification.objects.exists()
    assert "不应发送" not in capsys.readouterr().out


def test_email_channel_sends_to_the_members_login_address(
    member, settings, django_capture_on_commit_callbacks
):
    settings.HUZHU_NOTIFY_CHANNELS = ["email"]
    with django_capture_on_commit_callbacks(execute=True):
        note = notify_member(member=member, kind="test", text="互助金已发放")
    assert [m.to for m in mail.outbox] == [["w@example.cn"]]
    assert mail.outbox[0].body == "互助金已发放"
    assert Notification.objects.get(pk=note.pk).channels == "email"


def test_member_without_address_is_skipped_not_failed(
    settings, db, django_capture_on_commit_callbacks
):
    settings.HUZHU_NOTIFY_CHANNELS = ["email"]
    member = MemberFactory()
    with django_capture_on_commit_callbacks(execute=True):
        note = notify_member(member=member, kind="test", text="x")
    stored = Notification.objects.get(pk=note.pk)
    assert (stored.channels, stored.sent_at, stored.error) == ("", None, "")
    assert mail.outbox == []


def test_dotted_path_channels_and_a_failing_channel_does_not_stop_others(
    member, settings, django_capture_on_commit_callbacks
):
    channels_for_tests.SENT.clear()
    settings.HUZHU_NOTIFY_CHANNELS = [
        "tests.claims.channels_for_tests.BrokenChannel",
        "tests.claims.channels_for_tests.RecordingSms",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        note = notify_member(member=member, kind="test", text="审核通过")
    assert channels_for_tests.SENT == [("13800001111", "审核通过")]
    stored = Notification.objects.get(pk=note.pk)
    assert stored.channels == "sms" and stored.sent_at is not None
    assert "broken: gateway down" in stored.error


def test_interfaces_must_be_implemented():
    with pytest.raises(TypeError):
        SmsChannel()
    with pytest.raises(TypeError):
        WeChatTemplateChannel()


def test_console_channel_writes_member_and_text(member):
    out = io.StringIO()
    note = Notification(member=member, kind="claim_paid", text="已发放")
    assert ConsoleChannel(stream=out).send(note)
    assert member.name in out.getvalue() and "已发放" in out.getvalue()
