"""`deliver` sends a notification once, however often a task that delivers it runs (a job
re-queued after its worker died, the import's delivery task racing the re-delivery job)."""

import threading

import pytest
from django.db import connection, transaction

from huzhu.claims.models import Notification
from huzhu.claims.notifications import deliver
from huzhu.settlements.tasks import deliver_import_notifications
from tests.claims import channels_for_tests
from tests.claims.test_notification_redelivery import stored
from tests.concurrency import run_together

SMS = "tests.claims.channels_for_tests.RecordingSms"
postgresql_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="row locks: PostgreSQL only"
)


@pytest.fixture(autouse=True)
def sms(settings):
    settings.HUZHU_NOTIFY_CHANNELS = [SMS]
    channels_for_tests.SENT.clear()
    yield channels_for_tests.SENT
    channels_for_tests.SENT.clear()


@pytest.mark.django_db
def test_a_sent_notification_is_not_sent_again(sms):
    note = stored("已送达一次")
    assert deliver(note.pk).sent_at is not None
    first = Notification.objects.get(pk=note.pk).sent_at
    again = deliver(note.pk)
    assert again.sent_at == first
    assert sms == [("13800001111", "已送达一次")]


@pytest.mark.django_db
def test_the_import_delivery_task_run_twice_sends_each_once(sms):
    notes = [stored(f"第{i}条", age_seconds=0) for i in range(3)]
    created_at = Notification.objects.get(pk=notes[0].pk).created_at
    Notification.objects.filter(pk__in=[n.pk for n in notes]).update(created_at=created_at)
    args = (notes[0].pk, notes[-1].pk, created_at.isoformat())
    assert deliver_import_notifications.call(*args) == 3
    assert deliver_import_notifications.call(*args) == 0
    assert sorted(text for _, text in sms) == ["第0条", "第1条", "第2条"]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_notification_being_sent_by_another_process_is_skipped(sms):
    note = stored("另一进程正在发送")
    holding, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                list(Notification.objects.select_for_update().filter(pk=note.pk))
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(10)
        assert deliver(note.pk).sent_at is None  # not waited for, not sent
    finally:
        release.set()
        thread.join()
    assert sms == []


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_send_once(settings, sms):
    settings.HUZHU_NOTIFY_CHANNELS = ["tests.claims.test_notification_redelivery.SlowSms"]
    notes = [stored(f"并发{i}") for i in range(10)]

    def deliver_all():
        try:
            return [deliver(n.pk).pk for n in notes]
        finally:
            connection.close()

    run_together([deliver_all] * 3)
    assert sorted(text for _, text in sms) == sorted(f"并发{i}" for i in range(10))
