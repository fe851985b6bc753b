"""Channels registered by dotted path in notification tests (the outside world, recorded)."""

from huzhu.claims.notifications import NotificationChannel, SmsChannel

SENT: list[tuple[str, str]] = []


class RecordingSms(SmsChannel):
    def send_sms(self, *, phone: str, text: str) -> None:
        SENT.append((phone, text))


class BrokenChannel(NotificationChannel):
    name = "broken"

    def send(self, notification) -> bool:
        raise ConnectionError("gateway down")
