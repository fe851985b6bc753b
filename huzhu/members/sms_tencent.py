"""Tencent Cloud SMS (腾讯云短信) through its documented HTTP API: `SendSms`, version
2021-01-11, signed with TC3-HMAC-SHA256 (signature v3, huzhu/members/tencent_sign.py).

Settings (`HUZHU_SMS_TENCENT` in settings.py, from the environment): `HUZHU_SMS_SECRET_ID`,
`HUZHU_SMS_SECRET_KEY`, `HUZHU_SMS_SDK_APP_ID` (the SMS application, 1400…),
`HUZHU_SMS_SIGN_NAME` (the approved signature, e.g. 嵊州市总工会), `HUZHU_SMS_TEMPLATE_CODE`
(login code template: one parameter, the code; a second, the minutes), `HUZHU_SMS_TEMPLATE_NOTICE`
(notification template: {1} claim number, {2} status, {3} detail), `HUZHU_SMS_REGION`
(default ap-guangzhou), `HUZHU_SMS_ENDPOINT` (default https://sms.tencentcloudapi.com; the
local fake in huzhu/fakes/sms.py for tests and the demo).

Select it with `HUZHU_SMS_BACKEND=huzhu.members.sms_tencent.TencentSmsBackend`.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

import requests
from django.conf import settings

from .sms import CODE_TTL_SECONDS, SmsBackend, SmsProviderError
from .tencent_sign import CONTENT_TYPE, tc3_authorization

ACTION = "SendSms"
VERSION = "2021-01-11"
TIMEOUT = (3.05, 10)


def _config() -> dict:
    return dict(getattr(settings, "HUZHU_SMS_TENCENT", {}) or {})


def tencent_sms_send(phone: str, template_id: str, params: list[str], *, config=None) -> str:
    """Send one templated SMS to a mainland number; returns "SerialNo" of the message.
    Raises SmsProviderError with Tencent's code (`Error.Code` or the per-number `Code`)."""
    config = config or _config()
    if not (config.get("SECRET_ID") and config.get("SECRET_KEY") and template_id):
        raise SmsProviderError("NotConfigured", "腾讯云短信未配置（HUZHU_SMS_*）")
    endpoint = (config.get("ENDPOINT") or "https://sms.tencentcloudapi.com").rstrip("/")
    host = urlsplit(endpoint).netloc
    body = {
        "PhoneNumberSet": [f"+86{phone}"],
        "SmsSdkAppId": config.get("SDK_APP_ID", ""),
        "SignName": config.get("SIGN_NAME", ""),
        "TemplateId": template_id,
        "TemplateParamSet": list(params),
    }
    payload = json.dumps(body, ensure_ascii=False).encode()
    timestamp = int(time.time())
    headers = {
        "Authorization": tc3_authorization(
            secret_id=config["SECRET_ID"],
            secret_key=config["SECRET_KEY"],
            host=host,
            payload=payload,
            timestamp=timestamp,
        ),
        "Content-Type": CONTENT_TYPE,
        "Host": host,
        "X-TC-Action": ACTION,
        "X-TC-Version": VERSION,
        "X-TC-Timestamp": str(timestamp),
        "X-TC-Region": config.get("REGION") or "ap-guangzhou",
    }
    try:
        response = requests.post(endpoint + "/", data=payload, headers=headers, timeout=TIMEOUT)
        answer = response.json().get("Response") or {}
    except (requests.RequestException, ValueError, AttributeError) as exc:
        raise SmsProviderError("Unreachable", f"{type(exc).__name__}: {exc}") from None
    error = answer.get("Error")
    if error:
        raise SmsProviderError(str(error.get("Code", "")), str(error.get("Message", "")))
    statuses = answer.get("SendStatusSet") or []
    if not statuses:
        raise SmsProviderError("NoStatus", "no SendStatusSet in the answer")
    status = statuses[0]
    if status.get("Code") != "Ok":
        raise SmsProviderError(str(status.get("Code", "")), str(status.get("Message", "")))
    return str(status.get("SerialNo", ""))


class TencentSmsBackend(SmsBackend):
    """Login codes and notification texts through Tencent Cloud SMS templates."""

    def send_code(self, phone: str, code: str) -> None:
        config = _config()
        tencent_sms_send(
            phone,
            config.get("TEMPLATE_CODE", ""),
            [code, str(CODE_TTL_SECONDS // 60)],
            config=config,
        )

    def send_notice(self, phone: str, *, text: str, params: list[str]) -> str:
        config = _config()
        serial = tencent_sms_send(phone, config.get("TEMPLATE_NOTICE", ""), params, config=config)
        return f"Ok SerialNo={serial}"
