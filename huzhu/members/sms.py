"""SMS login codes for members: request, send through a pluggable backend, verify.

Rules: one code per phone per 60 s; a code lives 5 minutes and is stored hashed (HMAC with
the site's SECRET_KEY), never in clear; the row's phone is encrypted with its blind index
(`SmsCode.objects.filter(phone=…)` looks the index up). Limits, counted in the database so that they hold
across every app process (huzhu.members.throttle), per client address (`client`: see
huzhu.organizations.security.client_ip; IPv6 counts by its /64):
- codes sent: 5 per address per minute and `HUZHU_SMS_CODES_PER_ADDRESS` (default 20) per
  address per hour, whatever the phones;
- wrong codes: 5 per phone *from one address* in any 15 minutes lock that pair only, so a
  stranger guessing cannot lock the member's own phone out; 20 per address per hour
  whatever the phones; a code takes at most 20 wrong tries in all (then it is used up and
  the member asks for a new one).

The backend is the setting `HUZHU_SMS_BACKEND`, a dotted path to a `SmsBackend` subclass:
- `huzhu.members.sms.ConsoleSmsBackend` (default): prints the code on stdout (development,
  demo).
- `huzhu.members.sms.MemorySmsBackend`: keeps sent messages in `MemorySmsBackend.outbox`
  (tests, the browser test).
- `huzhu.members.sms_tencent.TencentSmsBackend`: Tencent Cloud SMS (settings from
  `HUZHU_SMS_*`, docs/wechat.md).
A backend also sends notification texts (`send_notice`, the WeChat channel's fallback). A
provider's refusal raises `SmsProviderError`: the code row keeps the error and the member may
ask again at once.
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
from .throttle import (
    Limit,
    Throttled,
    address_bucket,
    throttle_give_back,
    throttle_retry_after,
    throttle_take,
)

__all__ = [
    "CODE_TTL_SECONDS",
    "MAX_WRONG_PER_CODE",
    "RESEND_SECONDS",
    "WRONG_PER_PAIR",
    "ConsoleSmsBackend",
    "MemorySmsBackend",
    "SmsBackend",
    "SmsError",
    "SmsProviderError",
    "sms_backend",
    "sms_code_request",
    "sms_code_verify",
]

RESEND_SECONDS = 60
CODE_TTL_SECONDS = 5 * 60
CODES_PER_ADDRESS_MINUTE = Limit("sms.code.address.1m", 5, timedelta(minutes=1))
CODES_PER_ADDRESS_HOUR = 20  # default of the setting HUZHU_SMS_CODES_PER_ADDRESS
WRONG_PER_PAIR = Limit("sms.wrong.pair", 5, timedelta(minutes=15))
WRONG_PER_ADDRESS = Limit("sms.wrong.address", 20, timedelta(hours=1))
MAX_WRONG_PER_CODE = 20
DEFAULT_BACKEND = "huzhu.members.sms.ConsoleSmsBackend"


class SmsError(ValueError):
    """A refused SMS step; `code` is stable, `message` is Chinese. `retry_after` in seconds
    when waiting helps."""

    def __init__(self, code: str, message: str, *, retry_after: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after


class SmsProviderError(Exception):
    """The SMS provider refused or could not be reached; `code` is the provider's."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class SmsBackend(abc.ABC):
    """Sends a login code to a phone. Raise on a delivery failure."""

    @abc.abstractmethod
    def send_code(self, phone: str, code: str) -> None: ...

    def send_notice(self, phone: str, *, text: str, params: list[str]) -> str:
        """Send a member notification (`text`, or a provider template filled with `params`);
        return the provider's answer to store. Raise `SmsProviderError` on a refusal."""
        raise NotImplementedError(f"{type(self).__name__} sends no notifications")

    @staticmethod
    def text(code: str) -> str:
        minutes = CODE_TTL_SECONDS // 60
        return f"【嵊州市总工会】您的职工医疗互助登录验证码是{code}，{minutes}分钟内有效，请勿告诉他人。"


class ConsoleSmsBackend(SmsBackend):
    def send_code(self, phone: str, code: str) -> None:
        sys.stdout.write(f"[短信验证码] {phone}: {self.text(code)}\n")
        sys.stdout.flush()

    def send_notice(self, phone: str, *, text: str, params: list[str]) -> str:
        sys.stdout.write(f"[短信通知] {phone[:3]}****{phone[-4:]}: {' / '.join(params)}\n")
        sys.stdout.flush()
        return "console"


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

    def send_notice(self, phone: str, *, text: str, params: list[str]) -> str:
        with self._lock:
            self.outbox.append(SentSms(phone, "", text))
        return "memory"

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


def wait_text(seconds: int) -> str:
    """A wait for people: "40秒", "15分钟", "3小时" (rounded up)."""
    if seconds < 60:
        return f"{max(1, seconds)}秒"
    if seconds < 3600:
        return f"{(seconds + 59) // 60}分钟"
    return f"{(seconds + 3599) // 3600}小时"


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))


def _codes_per_address_hour() -> Limit:
    allowed = int(getattr(settings, "HUZHU_SMS_CODES_PER_ADDRESS", 0) or CODES_PER_ADDRESS_HOUR)
    return Limit("sms.code.address.1h", allowed, timedelta(hours=1))


def _pair(phone: str, client: str) -> str:
    return f"{phone}|{address_bucket(client)}"


def _locked(wait: int) -> SmsError:
    return SmsError("locked", f"验证码错误次数过多，请{wait_text(wait)}后再试", retry_after=wait)


def sms_code_request(*, phone: str, client: str, now: datetime | None = None) -> SmsCode:
    """Create a code for `phone` and send it; `client` is the requesting address.

    Refusals (SmsError.code, with `retry_after`): `too_soon` (a code within the last 60 s),
    `too_many_codes` (the address's limits), `locked` (this phone from this address had too
    many wrong codes). Returns the stored row.
    """
    phone = _phone(phone)
    now = now or timezone.now()
    wait = throttle_retry_after(WRONG_PER_PAIR, _pair(phone, client), now=now)
    if wait:
        raise _locked(wait)
    address = address_bucket(client)
    try:
        taken = throttle_take(
            [(CODES_PER_ADDRESS_MINUTE, address), (_codes_per_address_hour(), address)], now=now
        )
    except Throttled as exc:
        raise SmsError(
            "too_many_codes",
            f"本网络获取验证码过于频繁，请{wait_text(exc.retry_after)}后再试",
            retry_after=exc.retry_after,
        ) from None
    code = f"{secrets.randbelow(1_000_000):06d}"
    try:
        with transaction.atomic():
            last = (
                SmsCode.objects.select_for_update()
                .filter(phone=phone, send_error="")  # by the phone's blind index
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
    except SmsError:
        throttle_give_back(taken)  # nothing was sent
        raise
    try:
        sms_backend().send_code(phone, code)
    except SmsProviderError as exc:
        # Kept on the row (not counted for the 60 s wait): the member may ask again at once.
        SmsCode.objects.filter(pk=row.pk).update(consumed_at=now, send_error=str(exc)[:255])
        raise SmsError("send_failed", "短信发送失败，请稍后重新获取验证码") from exc
    return row


def sms_code_verify(*, phone: str, code: str, client: str, now: datetime | None = None) -> str:
    """Check a code typed at address `client`; returns the normalised phone when it is right
    (the code is used up).

    Refusals (SmsError.code): `bad_code` (not 6 digits), `no_code` (none requested or used
    up), `expired`, `wrong_code` (with the tries left from this address), `locked` (5 wrong
    codes for this phone from this address in 15 minutes, or 20 from this address in an
    hour; other addresses, such as the member's own phone, are not locked). A wrong code is
    counted even though the call raises.
    """
    phone = _phone(phone)
    now = now or timezone.now()
    code = (code or "").strip()
    if not (len(code) == 6 and code.isdigit()):
        raise SmsError("bad_code", "验证码应为6位数字")
    pair = _pair(phone, client)
    # Counted before the code is compared, so parallel guesses cannot all get through.
    try:
        taken = throttle_take(
            [(WRONG_PER_PAIR, pair), (WRONG_PER_ADDRESS, address_bucket(client))], now=now
        )
    except Throttled as exc:
        raise _locked(exc.retry_after) from None
    error: SmsError | None = None
    with transaction.atomic():
        row = (
            SmsCode.objects.select_for_update()
            .filter(phone=phone, consumed_at__isnull=True)
            .order_by("-created_at", "-id")
            .first()
        )
        if row is None:
            error = SmsError("no_code", "请先获取验证码")
        elif row.expires_at <= now:
            error = SmsError("expired", "验证码已过期，请重新获取")
        elif constant_time_compare(row.code_hash, _hash(phone, code)):
            row.consumed_at = now
            row.save(update_fields=["consumed_at"])
        else:
            row.attempts += 1
            fields = ["attempts"]
            if row.attempts >= MAX_WRONG_PER_CODE:
                row.consumed_at = now
                fields.append("consumed_at")
                error = SmsError("code_used_up", "该验证码错误次数过多，已失效，请重新获取")
            left = min(taken.left.values())
            if left <= 0:
                error = _locked(0)  # the wait is filled in below, once the try is counted
            elif error is None:
                error = SmsError("wrong_code", f"验证码错误，还可尝试{left}次")
            row.save(update_fields=fields)
    if error is None or error.code in ("no_code", "expired"):
        throttle_give_back(taken)  # a right code, or no code to guess: not a wrong try
    if error is not None and error.code == "locked":
        wait = max(
            throttle_retry_after(WRONG_PER_PAIR, pair, now=now),
            throttle_retry_after(WRONG_PER_ADDRESS, address_bucket(client), now=now),
        )
        error = _locked(wait)
    if error is not None:
        raise error
    return phone
