"""Re-delivery of stored notifications left unsent (process or database gone after commit)."""

import io
import json
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from huzhu.claims import notifications
from huzhu.claims.models import Notification
from huzhu.claims.notifications import REDELIVERY_MAX_ATTEMPTS, notifications_redeliver
from huzhu.core.commands import UsageError
from tests.claims import channels_for_tests
from tests.concurrency import run_together
from tests.factories import MemberFactory

SMS = "tests.claims.channels_for_tests.RecordingSms"
BROKEN = "tests.claims.channels_for_tests.BrokenChannel"


@pytest.fixture(autouse=True)
def sms(settings):
    settings.HUZHU_NOTIFY_CHANNELS = [SMS]
    channels_for_tests.SENT.clear()
    yield channels_for_tests.SENT
    channels_for_tests.SENT.clear()


def stored(text, *, age_seconds=600, sent=False, phone="13800001111"):
    """A stored notification created `age_seconds` ago (as a commit that never delivered)."""
    note = Notification.objects.create(member=MemberFactory(phone=phone), kind="test", text=text)
    Notification.objects.filter(pk=note.pk).update(
        created_at=timezone.now() - timedelta(seconds=age_seconds),
        sent_at=timezone.now() if sent else None,
        channels="sms" if sent else "",
    )
    return note


def redeliver(*args):
    out = io.StringIO()
    call_command("notifications-redeliver", *args, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


@pytest.mark.django_db
def test_old_unsent_notification_is_delivered_once_recent_and_sent_ones_left_alone(sms):
    old = stored("旧的未发送")
    recent = stored("刚提交", age_seconds=30)
    done = stored("已发送", sent=True)

    assert redeliver() == {"tried": 1, "sent": 1, "failed": 0, "unreachable": 0}
    assert sms == [("13800001111", "旧的未发送")]
    old.refresh_from_db()
    assert old.sent_at is not None and old.channels == "sms" and old.attempts == 1
    recent.refresh_from_db()
    assert recent.sent_at is None and recent.attempts == 0
    done.refresh_from_db()
    assert done.attempts == 0

    # a second run finds nothing left to send
    assert redeliver() == {"tried": 0, "sent": 0, "failed": 0, "unreachable": 0}
    assert len(sms) == 1

    # the recent one is taken once the grace period given is shorter than its age
    assert redeliver("--older-than", "10")["sent"] == 1
    assert sms[-1] == ("13800001111", "刚提交")


@pytest.mark.django_db
def test_limit_takes_the_oldest_first(sms):
    stored("第二", age_seconds=300)
    stored("第一", age_seconds=900)
    stored("第三", age_seconds=200)
    # ids follow creation here, so "oldest first" is by id: the stored order
    assert redeliver("--limit", "2")["sent"] == 2
    assert [text for _, text in sms] == ["第二", "第一"]
    assert redeliver("--limit", "2")["sent"] == 1
    assert [text for _, text in sms] == ["第二", "第一", "第三"]


@pytest.mark.django_db
def test_failing_channel_records_the_error_and_gives_up_after_the_bounded_attempts(settings, sms):
    settings.HUZHU_NOTIFY_CHANNELS = [BROKEN]
    note = stored("网关故障")
    assert redeliver() == {"tried": 1, "sent": 0, "failed": 1, "unreachable": 0}
    note.refresh_from_db()
    assert note.sent_at is None and note.attempts == 1
    assert note.error == "broken: gateway down"

    for _ in range(REDELIVERY_MAX_ATTEMPTS + 2):
        redeliver()
    note.refresh_from_db()
    assert note.attempts == REDELIVERY_MAX_ATTEMPTS and note.sent_at is None

    # the gateway is back, but the attempts are used up: left for staff to see
    settings.HUZHU_NOTIFY_CHANNELS = [SMS]
    assert redeliver()["tried"] == 0 and sms == []


@pytest.mark.django_db
def test_member_no_channel_reaches_is_counted_unreachable(sms):
    note = stored("无手机号", phone="")
    assert redeliver() == {"tried": 1, "sent": 0, "failed": 0, "unreachable": 1}
    note.refresh_from_db()
    assert note.sent_at is None and note.error == "" and note.attempts == 1


@pytest.mark.django_db
def test_bad_arguments_are_usage_errors():
    with pytest.raises(UsageError, match="--limit"):
        call_command("notifications-redeliver", "--limit", "0", stdout=io.StringIO())
    with pytest.raises(UsageError, match="--older-than"):
        call_command("notifications-redeliver", "--older-than", "-1", stdout=io.StringIO())


@pytest.mark.django_db
def test_task_redelivers_and_failed_background_delivery_schedules_one(settings, sms):
    from huzhu.claims.payment_steps import deliver_notifications

    note = stored("任务重发")
    assert notifications.redeliver_notifications_task.call() == {
        "tried": 1,
        "sent": 1,
        "failed": 0,
        "unreachable": 0,
    }
    note.refresh_from_db()
    assert note.sent_at is not None

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    backend = notifications.redeliver_notifications_task.get_backend()
    backend.clear()
    settings.HUZHU_NOTIFY_CHANNELS = [BROKEN]
    failing = stored("后台发送失败", age_seconds=0)
    deliver_notifications.call([failing.pk])
    [scheduled] = backend.results
    assert scheduled.task.name == "redeliver_notifications_task"
    assert scheduled.task.run_after > timezone.now() + timedelta(seconds=60)

    backend.clear()
    settings.HUZHU_NOTIFY_CHANNELS = [SMS]
    deliver_notifications.call([stored("后台发送成功", age_seconds=0).pk])
    assert backend.results == []


postgresql_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="row locks with SKIP LOCKED: PostgreSQL"
)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_notification_locked_by_another_runner_is_skipped(sms):
    locked = stored("被锁定")
    stored("空闲")
    holding, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                list(Notification.objects.select_for_update().filter(pk=locked.pk))
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(10)
        result = notifications_redeliver()
    finally:
        release.set()
        thread.join()
    assert (result.tried, result.sent) == (1, 1)
    assert sms == [("13800001111", "空闲")]
    assert notifications_redeliver().sent == 1
    assert sorted(text for _, text in sms) == ["空闲", "被锁定"]


class SlowSms(channels_for_tests.RecordingSms):
    def send_sms(self, *, phone, text):
        time.sleep(0.005)
        super().send_sms(phone=phone, text=text)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_runners_send_each_notification_once(settings, monkeypatch, sms):
    settings.HUZHU_NOTIFY_CHANNELS = ["tests.claims.test_notification_redelivery.SlowSms"]
    monkeypatch.setattr(notifications, "REDELIVERY_BATCH", 3)
    for i in range(24):
        stored(f"第{i}条")
    results = run_together([notifications_redeliver] * 3)
    assert sorted(text for _, text in sms) == sorted(f"第{i}条" for i in range(24))
    assert sum(r.sent for r in results) == 24
    assert not Notification.objects.filter(sent_at__isnull=True).exists()
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}
