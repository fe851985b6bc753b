"""Member notifications: stored in the database, delivered on commit through pluggable channels.

Configure with the environment variable `HUZHU_NOTIFY_CHANNELS` (comma-separated; read into the
setting of that name by `huzhu/settings.py`; default `wechat` when a WeChat app id is configured,
else `console`): built-in names (`"console"`, `"email"`, `"wechat"`, `"sms"`) or dotted paths to
`NotificationChannel` subclasses.

Built in:
- `console`: writes one line per message to stdout. Without `DEBUG` the line carries no
  personal data (notification id, claim number, kind and the member's internal id only: no
  name, hospital, stay, amount, ID or phone number); with `DEBUG=1` (development, demo) it also
  prints the member's name and the message text.
- `email`: Django's mail (`EMAIL_BACKEND`, `DEFAULT_FROM_EMAIL`) to the e-mail address of the
  member's login; members without one are skipped.

Documented interfaces for the channels a deployment adds (no sender ships here, because each
needs a provider contract and credentials):
- `SmsChannel`: implement `send_sms(phone, text)` for your SMS gateway (Aliyun, Tencent Cloud…).
- `WeChatTemplateChannel`: implement `recipient_openid(member)` and
  `send_template(openid, template_id, data)` for WeChat template messages (模板消息).
Register the subclass by its dotted path in `HUZHU_NOTIFY_CHANNELS`.

Delivery happens after the commit, so a process killed (or a database gone) between the commit
and the delivery leaves the notification stored with `sent_at` empty. `notifications_redeliver`
(command `huzhu notifications-redeliver`, task `redeliver_notifications_task`) sends those again
once they are older than a grace period, at most `REDELIVERY_MAX_ATTEMPTS` times each.
"""

from __future__ import annotations

import abc
import logging
import sys
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import task

from .models import Notification

log = logging.getLogger(__name__)


class NotificationChannel(abc.ABC):
    """One way of delivering a stored notification to its member."""

    name: str = ""

    @abc.abstractmethod
    def send(self, notification: Notification) -> bool | str:
        """Deliver it. Return True (or the name of the route taken) when delivered, False
        when this member cannot be reached through this channel (no address). Raise on a
        delivery failure."""


class ConsoleChannel(NotificationChannel):
    name = "console"

    def __init__(self, stream=None) -> None:
        self.stream = stream

    def send(self, notification: Notification) -> bool:
        stream = self.stream or sys.stdout
        stream.write(self.line(notification) + "\n")
        stream.flush()
        return True

    @staticmethod
    def line(notification: Notification) -> str:
        """The printed line. Without DEBUG only what identifies the message inside the
        platform: a log is read by people who may not see members' personal data."""
        parts = [
            f"[通知 {notification.kind}]",
            f"notification={notification.pk}",
            f"member={notification.member_id}",
        ]
        if notification.claim_id is not None:
            parts.append(f"claim={notification.claim.number}")
        if settings.DEBUG:
            parts.append(f"{notification.member.name}: {notification.text}")
        return " ".join(parts)


class EmailChannel(NotificationChannel):
    name = "email"
    subject = "职工医疗互助通知"

    def send(self, notification: Notification) -> bool:
        user = notification.member.user
        address = (user.email or "").strip() if user is not None else ""
        if not address:
            return False
        send_mail(
            subject=self.subject,
            message=notification.text,
            from_email=None,
            recipient_list=[address],
        )
        return True


class SmsChannel(NotificationChannel):
    """Interface for an SMS gateway. Subclass, implement `send_sms`, register its dotted path."""

    name = "sms"

    def send(self, notification: Notification) -> bool:
        phone = notification.member.phone.strip()
        if not phone:
            return False
        self.send_sms(phone=phone, text=notification.text)
        return True

    @abc.abstractmethod
    def send_sms(self, *, phone: str, text: str) -> None:
        """Send `text` to the mainland mobile number `phone`; raise on failure."""


class WeChatTemplateChannel(NotificationChannel):
    """Interface for WeChat template messages (公众号模板消息).

    Subclass and implement `recipient_openid` (where the member's openid is kept is the
    deployment's choice) and `send_template`; `template_id_for(kind)` maps a notification
    kind to the template registered on the official account (`TEMPLATE_IDS` by default).
    """

    name = "wechat"
    TEMPLATE_IDS: dict[str, str] = {}

    def send(self, notification: Notification) -> bool:
        openid = self.recipient_openid(notification.member)
        template_id = self.template_id_for(notification.kind)
        if not openid or not template_id:
            return False
        self.send_template(
            openid=openid,
            template_id=template_id,
            data={"kind": notification.kind, "text": notification.text},
        )
        return True

    def template_id_for(self, kind: str) -> str:
        return self.TEMPLATE_IDS.get(kind, "")

    @abc.abstractmethod
    def recipient_openid(self, member) -> str:
        """The member's openid on the official account, or "" when not bound."""

    @abc.abstractmethod
    def send_template(self, *, openid: str, template_id: str, data: dict) -> None:
        """Send one template message; raise on failure."""


BUILTIN_CHANNELS: dict[str, type[NotificationChannel]] = {
    "console": ConsoleChannel,
    "email": EmailChannel,
}
# Channels that live in a channel app (imported when named): WeChat template messages with
# the SMS fallback, and SMS alone (huzhu/wechat/channel.py).
NAMED_CHANNELS = {
    "wechat": "huzhu.wechat.channel.WeChatChannel",
    "sms": "huzhu.wechat.channel.SmsNoticeChannel",
}


def configured_channels() -> list[NotificationChannel]:
    """Instances of the channels named in `HUZHU_NOTIFY_CHANNELS`."""
    names = getattr(settings, "HUZHU_NOTIFY_CHANNELS", ["console"])
    channels = []
    for name in names:
        cls = BUILTIN_CHANNELS.get(name) or import_string(NAMED_CHANNELS.get(name, name))
        channels.append(cls())
    return channels


def deliver(notification_id: int) -> Notification:
    """Send one stored notification through every configured channel; record what happened.

    A failing channel is logged and recorded in `error`; it never stops the other channels.
    Sent once: a notification already sent, or being sent by another process right now (its
    row is locked: a task run twice, a re-delivery), is returned as it is, not sent again.
    """
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("member__user")
            .filter(pk=notification_id, sent_at__isnull=True)
            .first()
        )
        if notification is not None:
            return _deliver(notification)
    return Notification.objects.select_related("member__user").get(pk=notification_id)


def notification_send(notification: Notification) -> Notification:
    """Send a stored notification through every configured channel and set `channels`,
    `error` and `sent_at` on it, without saving (the caller records them: `_deliver`, or
    the one-stop settle with its own prepared statement)."""
    delivered, errors = [], []
    for channel in configured_channels():
        try:
            route = channel.send(notification)
            if route:  # True, or the name of the route it took (e.g. "sms" for "wechat")
                name = route if isinstance(route, str) else channel.name
                delivered.append(name or type(channel).__name__)
        except Exception as exc:  # a channel failure must not break the others
            log.exception("notification %s: channel %s failed", notification.pk, channel.name)
            errors.append(f"{channel.name or type(channel).__name__}: {exc}")
    notification.channels = ",".join(delivered)
    notification.error = "\n".join(errors)
    notification.sent_at = timezone.now() if delivered else None
    return notification


def _deliver(notification: Notification) -> Notification:
    notification_send(notification)
    notification.save(update_fields=["channels", "error", "sent_at"])
    return notification


def notify_member(*, member, kind: str, text: str, claim=None) -> Notification:
    """Store a notification now and deliver it when the current transaction commits.

    Inside a transaction that rolls back, nothing is stored and nothing is sent.
    """
    notification = Notification.objects.create(member=member, claim=claim, kind=kind, text=text)
    transaction.on_commit(lambda: _deliver(notification), robust=True)
    return notification


REDELIVERY_GRACE_SECONDS = 120  # younger ones may still be on their way (delivery after commit)
REDELIVERY_MAX_ATTEMPTS = 5
REDELIVERY_BATCH = 50


@dataclass
class RedeliveryResult:
    tried: int = 0
    sent: int = 0
    failed: int = 0  # a channel raised (the error is recorded on the notification)
    unreachable: int = 0  # no channel reaches the member (no address), nothing raised

    def summary(self) -> dict:
        return {
            "tried": self.tried,
            "sent": self.sent,
            "failed": self.failed,
            "unreachable": self.unreachable,
        }


def notifications_redeliver(
    *, older_than: int = REDELIVERY_GRACE_SECONDS, limit: int | None = None
) -> RedeliveryResult:
    """Send again the stored notifications still unsent `older_than` seconds after they were
    created, oldest first, at most `limit` (None: all), each at most `REDELIVERY_MAX_ATTEMPTS`
    times (`attempts` counts the re-deliveries; `error` holds the last failure).

    Safe to run in several processes at once: each batch is locked with SKIP LOCKED (another
    runner's batch is skipped, not waited for) and `sent_at` is re-read under the lock, so a
    notification is sent by one runner only. Delivery is at least once: a process killed in the
    middle of a batch leaves that batch unrecorded, and its sent members get the message again.
    """
    cutoff = timezone.now() - timedelta(seconds=older_than)
    result = RedeliveryResult()
    after_id = 0
    while limit is None or result.tried < limit:
        size = REDELIVERY_BATCH if limit is None else min(REDELIVERY_BATCH, limit - result.tried)
        with transaction.atomic():
            batch = list(
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("member__user")
                .filter(
                    id__gt=after_id,
                    sent_at__isnull=True,
                    created_at__lt=cutoff,
                    attempts__lt=REDELIVERY_MAX_ATTEMPTS,
                )
                .order_by("id")[:size]
            )
            if not batch:
                break
            for notification in batch:
                after_id = notification.pk
                notification_send(notification)
                notification.attempts += 1
                notification.save(update_fields=["channels", "error", "sent_at", "attempts"])
                result.tried += 1
                if notification.sent_at is not None:
                    result.sent += 1
                elif notification.error:
                    result.failed += 1
                else:
                    result.unreachable += 1
    if result.tried:
        log.info("notifications re-delivered: %s", result.summary())
    return result


@task()
def redeliver_notifications_task(older_than: int = REDELIVERY_GRACE_SECONDS) -> dict:
    """`notifications_redeliver` in the worker; returns the counts."""
    return notifications_redeliver(older_than=older_than).summary()


def redelivery_schedule() -> None:
    """After a background delivery failed: have the worker re-deliver once the grace period is
    over (backends that can defer a task; otherwise the periodic command picks it up)."""
    if not redeliver_notifications_task.get_backend().supports_defer:
        return
    run_after = timezone.now() + timedelta(seconds=REDELIVERY_GRACE_SECONDS + 5)
    redeliver_notifications_task.using(run_after=run_after).enqueue()
