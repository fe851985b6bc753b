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


def test_stored_now_and_sent_only_on_commit(
    member, django_capture_on_commit_callbacks, capsys, settings
):
    settings.DEBUG = True  # the console prints the text only with DEBUG on
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


def test_console_channel_writes_member_and_text_with_debug_on(member, settings):
    settings.DEBUG = True
    out = io.StringIO()
    note = Notification(member=member, kind="claim_paid", text="已发放")
    assert ConsoleChannel(stream=out).send(note)
    assert member.name in out.getvalue() and "已发放" in out.getvalue()


def test_console_channel_prints_no_personal_data_with_debug_off(member, settings):
    from tests.factories import ClaimFactory

    settings.DEBUG = False
    claim = ClaimFactory(enrollment__member=member)
    text = f"{member.name}：您在嵊州市人民医院的住院（2026-03-01至2026-03-09）已自动受理，金额1,250.00元"
    note = Notification.objects.create(member=member, claim=claim, kind="auto_claim", text=text)
    out = io.StringIO()
    assert ConsoleChannel(stream=out).send(note)
    line = out.getvalue()
    for private in (
        member.name,
        "人民医院",
        "2026-03-01",
        "1,250.00",
        member.id_number,
        "13800001111",
    ):
        assert private not in line
    assert line.startswith("[通知 auto_claim] ")
    assert f"notification={note.pk}" in line and f"member={member.pk}" in line
    assert f"claim={claim.number}" in line


def _settings_module(monkeypatch, **env):
    """The settings module's names as huzhu/settings.py computes them from `env`."""
    import runpy

    import huzhu.settings

    for name in ("HUZHU_NOTIFY_CHANNELS", "HUZHU_WECHAT_APPID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(huzhu.settings.__file__)


def test_channels_come_from_the_environment(monkeypatch):
    names = _settings_module(monkeypatch, HUZHU_NOTIFY_CHANNELS=" email, sms ,,")
    assert names["HUZHU_NOTIFY_CHANNELS"] == ["email", "sms"]
    dotted = "tests.claims.channels_for_tests.RecordingSms"
    names = _settings_module(monkeypatch, HUZHU_NOTIFY_CHANNELS=dotted)
    assert names["HUZHU_NOTIFY_CHANNELS"] == [dotted]


def test_channels_default_to_wechat_with_an_app_id_else_console(monkeypatch):
    assert _settings_module(monkeypatch)["HUZHU_NOTIFY_CHANNELS"] == ["console"]
    names = _settings_module(monkeypatch, HUZHU_WECHAT_APPID="wx0123456789abcdef")
    assert names["HUZHU_NOTIFY_CHANNELS"] == ["wechat"]
    names = _settings_module(monkeypatch, HUZHU_NOTIFY_CHANNELS="")
    assert names["HUZHU_NOTIFY_CHANNELS"] == ["console"]
