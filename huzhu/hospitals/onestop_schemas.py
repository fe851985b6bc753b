"""The one-stop API's requests (一站式结算): one pydantic definition parses each body and
documents it (`/api/onestop/*` in the OpenAPI schema is `model_json_schema()` of these
models), so what is documented and what is accepted cannot drift apart.

`StayIn.parse(raw, hospital=…, key_owner=…)` (and `SettleIn`, `CancelIn`) answers the parsed
body or raises `OnestopInputError` naming the first wrong field, in this order: the body as a
whole (not JSON, not an object, nested too deep, a value that is an object or array, a NUL
character: in body order, unknown fields too), then the fields in the order they are declared
(`hospital_code` first — its key's hospital, registered — then `request_id`, the settlement
id, the ID number, the dates, the amounts, the other texts). Amounts are yuan strings
("1234.56") and become integer fen here; a float, a negative amount or more than two
decimals is refused. Unknown fields are kept out of the model but stay in `digest()`, the
idempotency key of a request_id.

The answer codes (`OnestopCode`) live here too: the input error carries three of them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from huzhu.members.idnumbers import IdNumberError, normalize_id_number
from huzhu.plans.rules.amounts import parse_amount, parse_iso_date
from huzhu.plans.rules.explain import BASE_LABELS

if TYPE_CHECKING:
    from .models import Hospital

__all__ = [
    "AMOUNT_NAMES",
    "LABELS",
    "CancelIn",
    "OnestopCode",
    "OnestopInputError",
    "SettleIn",
    "StayIn",
]


class OnestopCode(StrEnum):
    """What the cashier's system does with an answer (HTTP 200 unless noted)."""

    OK = "ok"  # computed (presettle) / committed (settle) / cancelled (cancel)
    NOT_ENROLLED = "not_enrolled"  # no mutual aid: charge the patient in full
    WAITING_PERIOD = "waiting_period"
    OUT_OF_PERIOD = "out_of_period"  # no scheme year / plan covers the discharge date
    ALREADY_CLAIMED = "already_claimed"  # the stay has a claim from another channel
    # What the bureau file import would send to a reviewer (same rule): nothing committed.
    NEEDS_REVIEW = "needs_review"
    CANCELLED = "cancelled"  # settle: this settlement id was settled and cancelled before
    NOT_FOUND = "not_found"  # cancel: no one-stop settlement of this hospital with that id
    ALREADY_CANCELLED = "already_cancelled"
    # Errors (not 200): 400 invalid_field / hospital_mismatch / unknown_hospital,
    # 401 (see huzhu.api.keys), 409 request_id_reused, 413 body_too_large (huzhu.api.limits),
    # 503 unavailable (the database only), 500 internal_error (a fault of ours).
    INVALID_FIELD = "invalid_field"
    HOSPITAL_MISMATCH = "hospital_mismatch"
    UNKNOWN_HOSPITAL = "unknown_hospital"
    REQUEST_ID_REUSED = "request_id_reused"
    UNAVAILABLE = "unavailable"
    INTERNAL_ERROR = "internal_error"


_INPUT_CODES = frozenset(
    {OnestopCode.INVALID_FIELD, OnestopCode.HOSPITAL_MISMATCH, OnestopCode.UNKNOWN_HOSPITAL}
)


class OnestopInputError(Exception):
    """Bad input (HTTP 400): `field` names it, `code` is stable, `message` is Chinese."""

    def __init__(self, field: str, message: str, code: str = OnestopCode.INVALID_FIELD) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = str(code)

    def as_dict(self) -> dict:
        return {"code": self.code, "field": self.field, "detail": self.message}


AMOUNT_NAMES = ("total_cost", "fund_paid", "self_pay_in_policy", "self_pay_out_policy")
LABELS = {
    "request_id": "请求编号",
    "settlement_id": "结算编号",
    "hospital_code": "医院代码",
    "id_number": "身份证号",
    "admit_date": "入院日期",
    "discharge_date": "出院日期",
    **BASE_LABELS,
}
_AMOUNT_REASONS = {
    "not_a_number": "不是有效金额",
    "too_many_decimals": "超过两位小数",
    "too_large": "金额过大",
    "negative": "不能为负数",
    "empty": "为空",
}


def _label(name: str) -> str:
    return LABELS.get(name, name)


def _refuse(field: str, message: str, code: str = OnestopCode.INVALID_FIELD):
    """A validation error that becomes OnestopInputError(field, message, code)."""
    return PydanticCustomError(str(code), "{message}", {"message": message, "field": field})


# --- the values (each a BeforeValidator: it sees the raw JSON value) ---------------------------


def _text_value(name: str, value: Any, *, required: bool, limit: int | None) -> str:
    if value is None:
        value = ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _refuse(name, f"{_label(name)}应为文本")
    value = str(value).strip()
    if required and not value:
        raise _refuse(name, f"缺少{_label(name)}（{name}）")
    if limit and len(value) > limit:
        raise _refuse(name, f"{_label(name)}超过{limit}个字符")
    return value


def _text(name: str, limit: int | None = None, *, required: bool = False, description=None):
    """A text field: a string (or an integer, taken as its digits), trimmed, at most `limit`
    characters. The limit is also the documented `maxLength` (checked here first, so the
    answer is ours)."""

    def check(value: Any) -> str:
        return _text_value(name, value, required=required, limit=limit)

    return Annotated[str, BeforeValidator(check), Field(max_length=limit, description=description)]


def _iso_date(name: str):
    def check(value: Any) -> date:
        parsed = parse_iso_date(_text_value(name, value, required=True, limit=None))
        if parsed is None:
            raise _refuse(name, f"{_label(name)}应为YYYY-MM-DD格式的有效日期")
        return parsed

    return Annotated[date, BeforeValidator(check), Field(description="YYYY-MM-DD")]


def _id_number(value: Any) -> str:
    try:
        return normalize_id_number(_text_value("id_number", value, required=True, limit=None))
    except IdNumberError as exc:
        raise _refuse("id_number", f"身份证号{exc.message}") from None


def _yuan(name: str, description: str | None = None):
    """An amount: a yuan string with at most two decimals ("1234.56"), not negative, as
    integer fen; absent, null or "" is None. A JSON number is refused: 1234.56 as a float
    is not exact."""

    def check(value: Any) -> int | None:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise _refuse(name, f'{_label(name)}应为元字符串，如 "1234.56"')
        fen, error = parse_amount(value)
        if error is None and fen is not None and fen < 0:
            error = "negative"
        if error is not None:
            raise _refuse(name, f"{_label(name)}{_AMOUNT_REASONS.get(error, '无效')}")
        return fen

    doc = {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "description": description or "元，如 1234.56（至多两位小数）",
    }
    return Annotated[int | None, BeforeValidator(check), WithJsonSchema(doc)]


def _key_hospital(value: Any, info: ValidationInfo) -> str:
    """`hospital_code`: the hospital the API key belongs to, registered and active (the
    parse's context says which and whether; without one, only the text is checked)."""
    code = _text_value("hospital_code", value, required=True, limit=32)
    context = info.context or {}
    owner = context.get("key_owner")
    if owner is None:
        return code
    if code != owner:
        raise _refuse(
            "hospital_code",
            f"医院代码{code}与接口密钥所属医院{owner}不一致",
            OnestopCode.HOSPITAL_MISMATCH,
        )
    if not context.get("registered"):
        raise _refuse("hospital_code", f"医院{code}未登记或已停用", OnestopCode.UNKNOWN_HOSPITAL)
    return code


# --- the bodies ----------------------------------------------------------------------------------


def _json_object(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError):
        raise OnestopInputError("body", "请求体不是有效的JSON") from None
    except RecursionError:
        raise OnestopInputError("body", "请求体JSON嵌套过深") from None


def _first_problem(exc: ValidationError) -> OnestopInputError:
    """The first error pydantic found (body checks, then fields in declared order)."""
    error = exc.errors(include_url=False)[0]
    context = error.get("ctx") or {}
    loc = error.get("loc") or ()
    field = context.get("field") or (str(loc[0]) if loc else "body")
    if error["type"] == "missing":
        return OnestopInputError(field, f"缺少{_label(field)}（{field}）")
    code = error["type"] if error["type"] in _INPUT_CODES else OnestopCode.INVALID_FIELD
    return OnestopInputError(field, error["msg"], code)


class OnestopIn(BaseModel):
    """What every one-stop body holds: the hospital's code, that of the key's hospital."""

    model_config = ConfigDict(frozen=True)

    hospital_code: Annotated[
        str,
        BeforeValidator(_key_hospital),
        Field(max_length=32, description="医院代码（须与密钥所属医院一致）"),
    ]
    _data: dict = PrivateAttr()

    @model_validator(mode="wrap")
    @classmethod
    def _whole_body(cls, data: Any, handler) -> Self:
        """A JSON object of flat values (every field of a one-stop body is a scalar) without
        a NUL character (PostgreSQL cannot store one: a permanent error, not a retry);
        checked in body order before any field."""
        if not isinstance(data, dict):
            raise _refuse("body", "请求体应为JSON对象")
        for name, value in data.items():
            nul = "\x00" in name or (isinstance(value, str) and "\x00" in value)
            if not nul and not isinstance(value, dict | list):
                continue
            field = name.replace("\x00", "")[:64] or "body"
            if isinstance(value, dict | list):
                raise _refuse(field, f"{_label(field)}应为文本或数字，不能是对象或数组")
            raise _refuse(field, f"{_label(field)}含有不允许的NUL字符（\\u0000）")
        body = handler(data)
        body._data = data
        return body

    @classmethod
    def parse(
        cls, body: bytes | dict, *, hospital: Hospital | None, key_owner: str | None = None
    ) -> Self:
        """The body (raw JSON bytes, or its object) parsed, or OnestopInputError naming the
        first wrong field. `key_owner`: the code of the hospital the API key belongs to
        (default `hospital.code`); `hospital`: that hospital if registered and active."""
        data = _json_object(body) if isinstance(body, bytes | bytearray) else body
        owner = hospital.code if key_owner is None and hospital is not None else key_owner
        context = {"key_owner": owner or "", "registered": hospital is not None}
        try:
            return cls.model_validate(data, context=context)
        except ValidationError as exc:
            raise _first_problem(exc) from None

    def digest(self) -> str:
        """SHA-256 of the body as sent (unknown fields too) in canonical form: key order and
        spacing do not matter. The same request_id with another digest is a conflict."""
        canonical = json.dumps(
            self._data, sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


# The fields, each defined once: its parsing, its limit and its documentation.
RequestId = _text(
    "request_id", 64, required=True, description="请求编号：幂等键，超时重试时原样重发"
)
SettlementId = _text("settlement_id", 64, required=True, description="医保结算编号（全区唯一）")
IdNumber = Annotated[str, BeforeValidator(_id_number), Field(description="身份证号")]
AdmitDate = _iso_date("admit_date")
DischargeDate = _iso_date("discharge_date")
TotalCost = _yuan("total_cost", "元，如 15000.00")
FundPaid = _yuan("fund_paid")
SelfPayInPolicy = _yuan("self_pay_in_policy")
SelfPayOutPolicy = _yuan("self_pay_out_policy")
PatientName = _text("name", 64)
HospitalName = _text("hospital", 128)
HospitalLevel = _text("hospital_level", 32)
VisitId = _text("visit_id", 64)
DiagnosisCode = _text("diagnosis_code", 32)
Reason = _text("reason", 500)


class _Requested(OnestopIn):
    request_id: RequestId


class StayIn(OnestopIn):
    """domain.md's settlement fields + the hospital's code; amounts are yuan strings."""

    settlement_id: SettlementId
    id_number: IdNumber
    admit: AdmitDate = Field(alias="admit_date")
    discharge: DischargeDate = Field(alias="discharge_date")
    total_cost_fen: TotalCost = Field(None, alias="total_cost")
    fund_paid_fen: FundPaid = Field(None, alias="fund_paid")
    self_pay_in_policy_fen: SelfPayInPolicy = Field(None, alias="self_pay_in_policy")
    self_pay_out_policy_fen: SelfPayOutPolicy = Field(None, alias="self_pay_out_policy")
    name: PatientName = ""
    hospital_name: HospitalName = Field("", alias="hospital")
    hospital_level: HospitalLevel = ""
    visit_id: VisitId = ""
    diagnosis_code: DiagnosisCode = ""

    @field_validator("discharge")
    @classmethod
    def _not_before_admission(cls, discharge: date, info: ValidationInfo) -> date:
        admit = info.data.get("admit")
        if admit is not None and discharge < admit:
            raise _refuse("discharge_date", "出院日期早于入院日期")
        return discharge

    @field_validator("diagnosis_code")
    @classmethod
    def _upper(cls, code: str) -> str:
        return code.upper()

    @property
    def amounts(self) -> dict[str, int | None]:
        """The amounts in fen by their field names (None: not given)."""
        return {n: getattr(self, f"{n}_fen") for n in AMOUNT_NAMES}

    def claim_fields(self, hospital_code: str) -> dict:
        out = {
            "settlement_id": self.settlement_id,
            "hospital_name": self.hospital_name,
            "hospital_code": hospital_code,
            "admit_date": self.admit,
            "discharge_date": self.discharge,
            "diagnosis_code": self.diagnosis_code,
        }
        for n, fen in self.amounts.items():
            if fen is not None:
                out[f"{n}_fen"] = fen
        return out


class SettleIn(StayIn, _Requested):  # fields: hospital_code, request_id, then the stay's
    """A stay to settle; `request_id` makes it idempotent."""


class CancelIn(_Requested):
    """A one-stop settlement to cancel (a refund at the cashier)."""

    settlement_id: Annotated[SettlementId, Field(description="要撤销的结算编号")]
    reason: Reason = ""
