"""API keys: creating them and checking signed requests (HMAC-SHA256).

A client sends `X-Huzhu-Key` (the key id), `X-Huzhu-Timestamp` (Unix seconds) and
`X-Huzhu-Signature` = hex(HMAC-SHA256(secret, signing string)), where the signing string is

    timestamp + "\\n" + METHOD + "\\n" + path + "\\n" + raw body

(`path` as sent, e.g. `/api/onestop/settle`, with `?query` when there is one). The method and
path are signed so that a request signed for one endpoint cannot be sent to another. A request
whose timestamp is more than `MAX_SKEW_SECONDS` away from now is refused, so a captured
request cannot be replayed later.

Each process keeps the keys it verified (id, owner, decrypted secret) and checks the row again
every `KEY_CACHE_SECONDS` (one indexed query; the secret is decrypted again only when the
stored one changed): the one-stop cashier API is real time and a decryption per request is
most of an unsigned request's cost, but a deactivated key must be refused by every server
process within a second. `api_key_deactivate` (the `huzhu api-key deactivate` command) also
forgets it in the calling process at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from huzhu.audit.services import audit_record
from huzhu.core.crypto import decrypt_text, encrypt_text

from .models import ApiKey, ApiKeyKind

__all__ = [
    "MAX_SKEW_SECONDS",
    "ApiAuthError",
    "api_key_create",
    "api_key_deactivate",
    "api_keys_forget",
    "api_request_verify",
    "sign",
    "signing_string",
]

MAX_SKEW_SECONDS = 300
# Must stay below 1 s: a deactivated key is refused by every process within a second.
KEY_CACHE_SECONDS = 0.5


@dataclass
class _Known:
    key: ApiKey
    secret: bytes
    until: float  # _clock() after which the row is read again


_clock = time.monotonic  # replaceable in tests


_keys: dict[tuple[str, str], _Known] = {}


def api_keys_forget() -> None:
    """Forget every cached key of this process (tests; a key changed outside the services)."""
    _keys.clear()


class ApiAuthError(Exception):
    """A request that does not authenticate; `code` is stable, `message` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def signing_string(timestamp: str, method: str, path: str, body: bytes) -> bytes:
    """The bytes a client signs: `timestamp + "\\n" + METHOD + "\\n" + path + "\\n" + body`."""
    head = f"{timestamp}\n{method.upper()}\n{path}\n"
    return head.encode("utf-8", "replace") + body


def sign(secret: str, timestamp: str, method: str, path: str, body: bytes) -> str:
    """The signature a client sends: hex HMAC-SHA256 of `signing_string(...)`."""
    message = signing_string(timestamp, method, path, body)
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def api_key_create(
    *, kind: str, owner_code: str, owner_name: str = "", acting_user=None
) -> tuple[ApiKey, str]:
    """A new active key for a data source or a hospital. Returns (key, secret): the secret is
    shown this once and stored only encrypted."""
    if kind not in ApiKeyKind.values:
        raise ValueError(f"unknown key kind {kind!r}")
    owner_code = (owner_code or "").strip()
    if not owner_code or len(owner_code) > 64:
        raise ValueError("owner code must be 1–64 characters")
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        key = ApiKey.objects.create(
            key_id="hz_" + secrets.token_hex(10),
            kind=kind,
            owner_code=owner_code,
            owner_name=owner_name.strip()[:128],
            secret_encrypted=encrypt_text(secret),
            created_by=acting_user if getattr(acting_user, "is_authenticated", False) else None,
        )
        audit_record(
            actor=acting_user,
            action="api_key.create",
            obj=key,
            after={"key_id": key.key_id, "kind": kind, "owner_code": owner_code},
        )
    return key, secret


def api_key_deactivate(*, key_id: str, acting_user=None) -> ApiKey:
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().get(key_id=key_id)
        key.is_active = False
        key.save(update_fields=["is_active"])
        audit_record(actor=acting_user, action="api_key.deactivate", obj=key)
    api_keys_forget()
    return key


def api_request_verify(
    *,
    key_id: str | None,
    timestamp: str | None,
    signature: str | None,
    method: str,
    path: str,
    body: bytes,
    kind: str,
    now: float | None = None,
) -> ApiKey:
    """The active key of `kind` that signed this request (`method`, `path` as sent with its
    query string, raw `body`), or ApiAuthError."""
    if not key_id or not timestamp or not signature:
        raise ApiAuthError(
            "missing_headers", "缺少 X-Huzhu-Key、X-Huzhu-Timestamp 或 X-Huzhu-Signature"
        )
    known = _known_key(key_id.strip(), kind)
    # Same answer for an unknown key and a wrong signature: nothing to probe.
    if known is None:
        raise ApiAuthError("bad_signature", "签名无效")
    key = known.key
    message = signing_string(timestamp.strip(), method, path, body)
    expected = hmac.new(known.secret, message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode("utf-8")):
        raise ApiAuthError("bad_signature", "签名无效")
    try:
        sent = int(timestamp.strip())
    except ValueError:
        raise ApiAuthError("bad_timestamp", "X-Huzhu-Timestamp 应为Unix秒数") from None
    now = time.time() if now is None else now
    if abs(now - sent) > MAX_SKEW_SECONDS:
        raise ApiAuthError("stale_timestamp", "请求时间戳超出5分钟，拒绝重放")
    # At most one write a minute per key: the one-stop settle path is real-time.
    moment = timezone.now()
    if key.last_used_at is None or (moment - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=moment)
        key.last_used_at = moment
    return key


def _known_key(key_id: str, kind: str) -> _Known | None:
    """The active key `key_id` of `kind` with its secret, from this process's cache (at most
    `KEY_CACHE_SECONDS` old) or the database (unknown or inactive keys are not cached: they
    cost a query each time)."""
    now = _clock()
    known = _keys.get((key_id, kind))
    if known is not None and now < known.until:
        return known
    key = ApiKey.objects.filter(key_id=key_id, kind=kind, is_active=True).first()
    if key is None:
        _keys.pop((key_id, kind), None)
        return None
    if known is not None and known.key.secret_encrypted == key.secret_encrypted:
        secret = known.secret  # unchanged: no need to decrypt it again
    else:
        secret = decrypt_text(key.secret_encrypted).encode("utf-8")
    known = _Known(key=key, secret=secret, until=now + KEY_CACHE_SECONDS)
    _keys[(key_id, kind)] = known
    return known
