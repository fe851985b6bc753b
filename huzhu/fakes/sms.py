"""A fake Tencent Cloud SMS endpoint (`SendSms`, version 2021-01-11).

It checks what the real one checks first: the TC3-HMAC-SHA256 `Authorization` (secret id,
scope date, signed headers, signature over the body and the Host header), the action and
version headers, the SMS app id, signature name and template id; answers as Tencent does
(`Response.SendStatusSet[].Code == "Ok"`, or `Response.Error.Code`). `fail_codes` maps a
phone (+86…) to a per-number failure code; `error_next` makes the next N calls answer
`LimitExceeded.PhoneNumberDailyLimit`-style errors. `GET /_fake/messages` lists what was sent.
"""

from __future__ import annotations

import hmac
import itertools
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from huzhu.members.tencent_sign import tc3_authorization

from .server import Request, answer_json

_AUTH_RE = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/sms/tc3_request, "
    r"SignedHeaders=content-type;host, Signature=(?P<sig>[0-9a-f]{64})$"
)


@dataclass
class FakeTencentSms:
    secret_id: str = "AKIDfake"
    secret_key: str = "fake-sms-key"
    sdk_app_id: str = "1400000001"
    sign_name: str = "嵊州市总工会"
    templates: set[str] = field(default_factory=lambda: {"100001", "100002"})
    fail_codes: dict[str, str] = field(default_factory=dict)
    error_next: int = 0
    error_code: str = "LimitExceeded.PhoneNumberDailyLimit"
    echo: bool = False  # print each message sent (the demo's console shows the login codes)

    def __post_init__(self):
        self.lock = threading.Lock()
        self.messages: list[dict] = []
        self._serial = itertools.count(1)

    def _error(self, start_response, code: str, message: str):
        return answer_json(
            start_response,
            {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "fake"}},
        )

    def __call__(self, environ, start_response):
        request = Request.from_environ(environ)
        if request.method == "GET" and request.path == "/_fake/messages":
            with self.lock:
                return answer_json(start_response, list(self.messages))
        if request.method != "POST" or request.path != "/":
            return answer_json(start_response, {"error": "not found"}, "404 Not Found")
        h = request.headers
        if h.get("x-tc-action") != "SendSms" or h.get("x-tc-version") != "2021-01-11":
            return self._error(start_response, "InvalidAction", "unknown action or version")
        match = _AUTH_RE.match(h.get("authorization", ""))
        try:
            timestamp = int(h.get("x-tc-timestamp", ""))
        except ValueError:
            timestamp = 0
        if match is None or match["id"] != self.secret_id:
            return self._error(start_response, "AuthFailure.SecretIdNotFound", "bad credential")
        if abs(time.time() - timestamp) > 300:
            return self._error(start_response, "AuthFailure.SignatureExpire", "timestamp")
        if match["date"] != datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d"):
            return self._error(start_response, "AuthFailure.SignatureFailure", "scope date")
        expected = tc3_authorization(
            secret_id=self.secret_id,
            secret_key=self.secret_key,
            host=h.get("host", ""),
            payload=request.body,
            timestamp=timestamp,
        )
        if not hmac.compare_digest(expected, h["authorization"]):
            return self._error(start_response, "AuthFailure.SignatureFailure", "signature")
        body = request.json()
        if body.get("SmsSdkAppId") != self.sdk_app_id:
            return self._error(start_response, "FailedOperation.SmsSdkAppIdVerifyFail", "app id")
        if body.get("SignName") != self.sign_name:
            return self._error(
                start_response, "FailedOperation.SignatureIncorrectOrUnapproved", "sign"
            )
        if body.get("TemplateId") not in self.templates:
            return self._error(
                start_response, "FailedOperation.TemplateIncorrectOrUnapproved", "template"
            )
        with self.lock:
            if self.error_next > 0:
                self.error_next -= 1
                return self._error(start_response, self.error_code, "limit exceeded")
        statuses = []
        for phone in body.get("PhoneNumberSet") or []:
            code = self.fail_codes.get(phone, "Ok")
            serial = f"fake-{next(self._serial)}"
            if code == "Ok":
                with self.lock:
                    self.messages.append(
                        {
                            "phone": phone,
                            "template": body.get("TemplateId"),
                            "params": list(body.get("TemplateParamSet") or []),
                            "serial": serial,
                        }
                    )
                if self.echo:
                    params = ", ".join(body.get("TemplateParamSet") or [])
                    print(f"[模拟短信] {phone} 模板{body.get('TemplateId')}: {params}", flush=True)
            statuses.append(
                {
                    "SerialNo": serial if code == "Ok" else "",
                    "PhoneNumber": phone,
                    "Fee": 1 if code == "Ok" else 0,
                    "SessionContext": "",
                    "Code": code,
                    "Message": "send success" if code == "Ok" else code,
                    "IsoCode": "CN",
                }
            )
        return answer_json(
            start_response, {"Response": {"SendStatusSet": statuses, "RequestId": "fake"}}
        )
