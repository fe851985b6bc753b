"""SMS login codes for members: request, send through a pluggable backend, verify.

Rules (issue "Online claims"): one code per phone per 60 s; a code lives 5 minutes; 5 wrong
tries use a code up and lock the phone for `LOCKOUT_SECONDS`; codes are stored hashed
(HMAC with the site's SECRET_KEY), never in clear.

The backend is the setting `HUZHU_SMS_BACKEND`, a dotted path to a `SmsBackend` subclass:
- `huzhu.members.sms.ConsoleSmsBackend` (default): prints the code on stdout (development,
  demo).
- `huzhu.members.sms.MemorySmsBackend`: keeps sent messages in `MemorySmsBackend.outbox`
  (tests, the browser test).
A real provider (Aliyun, Tencent Cloud SMS…) subclasses `SmsBackend` and implements
`send_code(phone, code)`: it needs the provider's contract, template id and credentials, so no
such sender ships here.
"""

from __future__ import annotations

import abc
import secrets
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.module_loading import import_string

from .fields import FieldError, normalize_phone
from .models import SmsCode

__all__ = [
    "CODE_TTL_SECONDS",
    "LOCKOUT_SECONDS",
    "MAX_TRIES",
    "RESEND_SECONDS",
    "ConsoleSmsBackend",
    "MemorySmsBackend",
    "SmsBackend",
    "SmsError",
    "sms_backend",
    "sms_code_request",
    "sms_code_verify",
]

RESEND_SECONDS = 60
CODE_TTL_SECONDS = 5 * 60
MAX_TRIES = 5
LOCKOUT_SECONDS = 15 * 60
DEFAULT_BACKEND = "huzhu.members.sms.ConsoleSmsBackend"


class SmsError(ValueError):
    """A refused SMS step; `code` is stable, `message` is Chinese. `retry_after` in seconds
    when waiting helps."""

    def __init__(self, code: str, message: str, *, retry_after: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after


class SmsBackend(abc.ABC):
    """Sends a login code to a phone. Raise on a delivery failure."""

    @abc.abstractmethod
    def send_code(self, phone: str, code: str) -> None: ...

    @staticmethod
    def text(code: str) -> str:
        minutes = CODE_TTL_SECONDS // 60
        return f"【嵊州市总工会】您的职工医疗互助登录验证码是{code}，{minutes}分钟内有效，请勿告诉他人。"


class ConsoleSmsBackend(SmsBackend):
    def send_code(self, phone: str, code: str) -> None:
        sys.stdout.write(f"[短信验证码] {phone}: {self.text(code)}\n")
        sys.stdout.flush()


@dataclass(frozen=True)
class SentSms:
    phone: str
    code: str
    text: str


class MemorySmsBackend(SmsBackend):
    """Keeps what it sends in the class-level `outbox` (tests read the code from it)."""

    outbox: list[SentSms] = []
    _lock = threading.Lock()

    def send_code(self, phone: str, code: str) -> None:
        with self._lock:
            self.outbox.append(SentSms(phone, code, self.text(code)))

    @classmethod
    def last_code(cls, phone: str) -> str | None:
        with cls._lock:
            for sent in reversed(cls.outbox):
                if sent.phone == phone:
                    return sent.code
        return None


def sms_backend() -> SmsBackend:
    path = getattr(settings, "HUZHU_SMS_BACKEND", "") or DEFAULT_BACKEND
    return import_string(path)()


def _hash(phone: str, code: str) -> str:
    return salted_hmac("huzhu.members.sms", f"{phone}:{code}", algorithm="sha256").hexdigest()


def _phone(raw: str) -> str:
    try:
        phone = normalize_phone(raw)
    except FieldError as exc:
        raise SmsError(exc.code, exc.message) from None
    if not phone:
        raise SmsError("missing_phone", "请填写手机号")
    return phone


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))


def _check_lock(phone: str, now: datetime) -> None:
    locked = (
        SmsCode.objects.filter(phone=phone, locked_until__gt=now)
        .order_by("-locked_until")
        .values_list("locked_until", flat=True)
        .first()
    )
    if locked:
        wait = _seconds(locked - now)
        raise SmsError(
            "locked",
            f"验证码错误次数过多，该手机号已锁定，请{(wait + 59) // 60}分钟后再试",
            retry_after=wait,
        )


def sms_code_request(*, phone: str, now: datetime | None = None) -> SmsCode:
    """Create a code for `phone` and send it. Refuses a second code within 60 s of the last
    one (`too_soon`, with the wait), and a locked phone (`locked`). Returns the stored row."""
    phone = _phone(phone)
    now = now or timezone.now()
    code = f"{secrets.randbelow(1_000_000):06d}"
    with transaction.atomic():
        _check_lock(phone, now)
        last = (
            SmsCode.objects.select_for_update()
            .filter(phone=phone)
            .order_by("-created_at", "-id")
            .first()
        )
        if last is not None and now - last.created_at < timedelta(seconds=RESEND_SECONDS):
            wait = _seconds(timedelta(seconds=RESEND_SECONDS) - (now - last.created_at))
            raise SmsError(
                "too_soon", f"验证码已发送，请{wait}秒后再获取新的验证码", retry_after=wait
            )
        row = SmsCode.objects.create(
            phone=phone,
            code_hash=_hash(phone, code),
            created_at=now,
            expires_at=now + timedelta(seconds=CODE_TTL_SECONDS),
        )
        # Older unused codes stop working: only the newest code counts.
        SmsCode.objects.filter(phone=phone, consumed_at__isnull=True).exclude(pk=row.pk).update(
            consumed_at=now
        )
    sms_backend().send_code(phone, code)
    return row


def sms_code_verify(*, phone: str, code: str, now: datetime | None = None) -> str:
    """Check a code; returns the normalised phone when it is right (the code is used up).

    Refusals (SmsError.code): `no_code` (none requested or already used), `expired`,
    `locked` (5 wrong tries), `wrong_code` (with the tries left), `bad_code` (not 6 digits).
    A wrong try is counted even though the call raises.
    """
    phone = _phone(phone)
    now = now or timezone.now()
    code = (code or "").strip()
    if not (len(code) == 6 and code.isdigit()):
        raise SmsError("bad_code", "验证码应为6位数字")
    error: SmsError | None = None
    with transaction.atomic():
        _check_lock(phone, now)
        row = (
            SmsCode.objects.select_for_update()
            .filter(phone=phone, consumed_at__isnull=True)
            .order_by("-created_at", "-id")
            .first()
        )
        if row is None:
            raise SmsError("no_code", "请先获取验证码")
        if row.expires_at <= now:
            raise SmsError("expired", "验证码已过期，请重新获取")
        if constant_time_compare(row.code_hash, _hash(phone, code)):
            row.consumed_at = now
            row.save(update_fields=["consumed_at"])
            return phone
        row.attempts += 1
        fields = ["attempts"]
        left = MAX_TRIES - row.attempts
        if left <= 0:
            row.consumed_at = now
            row.locked_until = now + timedelta(seconds=LOCKOUT_SECONDS)
            fields += ["consumed_at", "locked_until"]
            error = SmsError(
                "locked",
                f"验证码错误次数过多，该手机号已锁定，请{LOCKOUT_SECONDS // 60}分钟后再试",
                retry_after=LOCKOUT_SECONDS,
            )
        else:
            error = SmsError("wrong_code", f"验证码错误，还可尝试{left}次")
        row.save(update_fields=fields)
    raise error
