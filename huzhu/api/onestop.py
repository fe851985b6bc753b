"""`/api/onestop/*`: hospital cashiers settle the mutual aid at discharge (一站式结算).

Mirrors the medical-insurance platform's pre-settle / settle / cancel steps. Signed like the
bureau push (`huzhu.api.keys.api_request_verify`) with a key of kind `hospital`
(`huzhu api-key create --hospital CODE`): `X-Huzhu-Key`, `X-Huzhu-Timestamp`,
`X-Huzhu-Signature` = hex HMAC-SHA256(secret, timestamp + "\\n" + METHOD + "\\n" + path +
"\\n" + raw body).

Answers: 200 for every business outcome, with a machine-usable `code` (`OnestopCode`:
ok, not_enrolled, waiting_period, out_of_period, already_claimed, needs_review, cancelled,
not_found, already_cancelled); 400 names the invalid `field`; 401 bad key, signature or stale
timestamp; 409 a request_id reused with another body; 413 a body over 64 KiB (refused before
it is read, `huzhu.api.limits`); 503 `unavailable` only when the database cannot answer
(nothing was committed: retry with the same request_id); 500 `internal_error` for a fault of
ours (a retry would meet it again). Permanent errors are never 5xx.
The handlers only parse (with the models of `huzhu.hospitals.onestop_schemas`, which are also
the request bodies documented below), call `huzhu.hospitals.onestop`, and render.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from ninja import Router, Schema
from pydantic import BaseModel

from huzhu.claims.error_codes import ClaimError
from huzhu.hospitals.onestop import (
    OnestopCode,
    OnestopConflict,
    OnestopInputError,
    hospital_of_key,
    onestop_cancel,
    onestop_presettle,
    onestop_settle,
)
from huzhu.hospitals.onestop_schemas import CancelIn, SettleIn, StayIn

from .keys import ApiAuthError
from .models import ApiKeyKind
from .signing import signed_request_key

__all__ = ["router"]

log = logging.getLogger(__name__)
router = Router(tags=["onestop"])


class Problem(Schema):
    code: str
    detail: str
    field: str = ""


def _body_doc(schema: type[BaseModel]) -> dict:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema.model_json_schema()}},
        },
        "security": [{"HuzhuSignature": []}],
    }


_RESPONSES = {
    200: dict[str, Any],
    400: Problem,
    401: Problem,
    409: Problem,
    413: Problem,
    500: Problem,
    503: Problem,
}
# Each action: the model that parses (and documents) its body, and its service.
_ACTIONS = {
    "presettle": (StayIn, lambda hospital, body: onestop_presettle(hospital=hospital, stay=body)),
    "settle": (SettleIn, lambda hospital, body: onestop_settle(hospital=hospital, stay=body)),
    "cancel": (CancelIn, lambda hospital, body: onestop_cancel(hospital=hospital, cancel=body)),
}


def _reply(status: int, payload: dict) -> HttpResponse:
    """The answer as JSON, rendered here: the response models above document it in the
    OpenAPI schema, but validating every answer against `dict[str, Any]` on the cashier's
    real-time path would only cost time."""
    return HttpResponse(
        json.dumps(payload, ensure_ascii=False),
        status=status,
        content_type="application/json; charset=utf-8",
    )


def _handle(request, action: str):
    try:
        key = signed_request_key(request, ApiKeyKind.HOSPITAL)
        schema, service = _ACTIONS[action]
        hospital = hospital_of_key(key.owner_code)
        body = schema.parse(request.body, hospital=hospital, key_owner=key.owner_code)
        return _reply(200, service(hospital, body))
    except ApiAuthError as exc:
        return _reply(401, {"code": exc.code, "detail": exc.message, "field": ""})
    except OnestopInputError as exc:
        return _reply(400, exc.as_dict())
    except OnestopConflict as exc:
        return _reply(409, exc.as_dict())
    except ClaimError as exc:
        return _reply(400, {"code": str(exc.code), "detail": exc.message, "field": exc.field})
    except (OperationalError, InterfaceError):
        # The database is unreachable, restarting, or cancelled the transaction (deadlock,
        # serialization): nothing was committed, the same request may succeed in a moment.
        log.exception("one-stop %s: database unavailable", action)
        return _reply(
            503,
            {
                "code": str(OnestopCode.UNAVAILABLE),
                "detail": "系统暂时无法处理，未做任何结算；请用同一请求编号重试",
                "field": "",
            },
        )
    except Exception:
        # A fault of ours, not of the database's availability: a retry would meet it again,
        # so this is no 503 (a cashier's system retries those with the same request id).
        log.exception("one-stop %s: unexpected error", action)
        return _reply(
            500,
            {
                "code": str(OnestopCode.INTERNAL_ERROR),
                "detail": "系统内部错误；请勿自动重试，请联系市总工会",
                "field": "",
            },
        )


@router.post(
    "/presettle",
    response=_RESPONSES,
    auth=None,
    summary="预结算：计算本次互助金额及明细（不写入任何数据）",
    openapi_extra=_body_doc(StayIn),
)
def presettle(request):
    return _handle(request, "presettle")


@router.post(
    "/settle",
    response=_RESPONSES,
    auth=None,
    summary="结算：生成已核准、金额锁定、收款方为医院的互助申请（按 request_id 幂等）",
    openapi_extra=_body_doc(SettleIn),
)
def settle(request):
    return _handle(request, "settle")


@router.post(
    "/cancel",
    response=_RESPONSES,
    auth=None,
    summary="撤销结算（窗口退费）：作废并重算该职工本年度之后的住院",
    openapi_extra=_body_doc(CancelIn),
)
def cancel(request):
    return _handle(request, "cancel")
