"""The member app API (`/api/member/...`): what a WeChat mini-program needs.

Login: `POST login/code` sends an SMS code; `POST login/verify` checks it and returns a bearer
token (`Authorization: Bearer <token>`, valid `TOKEN_MAX_AGE` seconds) when the phone is
already bound, else a short-lived `bind_token` for `POST login/bind` (name + ID number).
A logged-in browser session works too. Every other endpoint needs a member login and sees
only that member's data. Same services as the /m/ pages (huzhu.claims.filing, huzhu.members.accounts, …).

Consent (个人信息处理同意书, PIPL art. 29), as on /m/: until the member has answered the
current version (`GET consent` shows it, `POST consent` accepts or withdraws, audited
`consent.accept` / `consent.withdraw`), coverage, claims and attachments answer 403 with
code `consent_required`; a declined or withdrawn consent is an answer (the member may go
on, their bureau records then go to a reviewer). The check runs on every call, so a version
published while a token is valid is asked for at the next call.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.core import signing
from django.http import Http404
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.security import HttpBearer, django_auth

from huzhu.claims import member_selectors as selectors
from huzhu.claims.filing import claim_file
from huzhu.claims.selectors import access_claim_by_id, claim_timeline
from huzhu.core.errors import StepRefused
from huzhu.enrollment.consent import (
    consent_answer_due,
    consent_answered_version,
    consent_member_answer,
    consent_state,
    consent_text_current,
)
from huzhu.members.accounts import (
    member_bind,
    member_of_user,
    member_user_for_phone,
)
from huzhu.members.documents import document_upload
from huzhu.members.sms import SmsError, sms_code_request, sms_code_verify
from huzhu.organizations.models import Role, User
from huzhu.organizations.security import client_ip

__all__ = [
    "MemberApiRefusal",
    "member_api_refused",
    "member_token_issue",
    "member_token_user",
    "router",
]

router = Router(tags=["member"])

TOKEN_SALT = "huzhu.api.member.token"
BIND_SALT = "huzhu.api.member.bind"
TOKEN_MAX_AGE = 7 * 24 * 3600
BIND_MAX_AGE = 15 * 60


def member_token_issue(user: User) -> str:
    # The phone's blind index, not the phone: a token is signed, not encrypted.
    return signing.dumps({"u": user.pk, "p": user.phone_hash}, salt=TOKEN_SALT, compress=True)


def member_token_user(token: str) -> User | None:
    """The active member login a token names; None when it is bad, expired or stale (the
    login's phone changed since it was issued, or `huzhu rotate-keys` re-computed its
    index: the member logs in again)."""
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    user = User.objects.filter(pk=data.get("u"), is_active=True, role=Role.MEMBER).first()
    if user is None or not user.phone_hash or user.phone_hash != data.get("p"):
        return None
    return user


class MemberBearer(HttpBearer):
    def authenticate(self, request, token):
        return member_token_user(token)


AUTH = [MemberBearer(), django_auth]


class MemberApiRefusal(Exception):
    """A member call refused before its handler ran: answered as a `Problem` with `status`
    (`member_api_refused`, registered in huzhu.api.routers)."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


def member_api_refused(request, exc: MemberApiRefusal):
    from huzhu.api.api import api

    return api.create_response(request, {"detail": exc.detail, "code": exc.code}, status=exc.status)


def _member(request, *, consent: bool = True):
    """The member of the login; with `consent`, only once they answered the current consent
    text (else 403 `consent_required`, as the /m/ pages lead to /m/consent/)."""
    member = member_of_user(request.auth)
    if member is None:
        raise MemberApiRefusal(403, "not_member", "请使用已绑定的职工账号登录")
    if consent:
        due = consent_answer_due(member)
        if due is not None:
            raise MemberApiRefusal(
                403,
                "consent_required",
                f"请先阅读并回答《{due.title}》（第{due.version}版）：GET /api/member/consent 查看，"
                "POST /api/member/consent 同意或不同意",
            )
    return member


# --- schemas -------------------------------------------------------------------------------


class Problem(Schema):
    detail: str
    code: str
    field: str = ""
    retry_after: int = 0
    claim_id: int | None = None


class CodeIn(Schema):
    phone: str = Field(..., description="11位手机号")


class CodeSent(Schema):
    sent: bool
    resend_after: int = Field(60, description="多少秒后可再次获取")


class VerifyIn(Schema):
    phone: str
    code: str = Field(..., description="6位短信验证码")


class LoginOut(Schema):
    bound: bool
    token: str = Field("", description="Bearer 令牌（已绑定时）")
    expires_in: int = 0
    bind_token: str = Field("", description="未绑定时，用于 login/bind，15分钟内有效")
    name: str = ""
    consent_due: bool = Field(
        False, description="须先回答个人信息处理同意书（GET/POST consent），其他接口才可用"
    )


class ConsentOut(Schema):
    version: int = Field(..., description="现行同意书版本")
    title: str
    body: str
    published_at: datetime
    due: bool = Field(..., description="尚未回答现行版本：其他接口返回403 consent_required")
    answered_version: int = Field(..., description="本人回答过的最新版本（0：从未回答）")
    status: str = Field(..., description="given / refused / withdrawn / unknown")
    status_label: str
    withheld: bool = Field(..., description="未同意或已撤回：医保结算数据转人工审核")
    detail: str


class ConsentIn(Schema):
    action: str = Field(..., description="accept（同意）或 withdraw（不同意/撤回）")
    version: int = Field(..., description="职工看到并回答的版本（GET consent 的 version）")


class BindIn(Schema):
    bind_token: str
    name: str
    id_number: str


class BenefitOut(Schema):
    code: str
    name: str
    kind: str
    lines: list[str]


class CoverageOut(Schema):
    year: int
    scheme_year: str
    union: str
    enrolled_on: date
    renewal: bool
    coverage_start: date
    waiting_period_end: date | None
    claim_window_days: int
    benefits: list[BenefitOut]


class ClaimSummary(Schema):
    id: int
    number: str
    status: str
    status_label: str
    source: str
    benefit_code: str
    benefit_name: str
    hospital_name: str
    admit_date: date | None
    discharge_date: date | None
    amount_fen: int | None
    created_at: datetime


class StepOut(Schema):
    from_status: str
    to_status: str
    to_label: str
    at: datetime
    by: str
    reason: str


class DocumentOut(Schema):
    id: int
    kind: str
    name: str
    content_type: str
    size: int
    invoice: dict[str, Any] | None = None


class ClaimDetail(ClaimSummary):
    invoice_number: str | None
    total_cost_fen: int | None
    fund_paid_fen: int | None
    self_pay_in_policy_fen: int | None
    self_pay_out_policy_fen: int | None
    diagnosis_code: str
    explanation: str
    status_reason: str
    paid_at: datetime | None
    timeline: list[StepOut]
    documents: list[DocumentOut]


class BankIn(Schema):
    account_name: str = ""
    bank_name: str = ""
    bank_account: str = ""


class ClaimIn(Schema):
    benefit_code: str
    hospital_name: str
    admit_date: str = Field(..., description="YYYY-MM-DD")
    discharge_date: str = Field(..., description="YYYY-MM-DD")
    invoice_number: str = ""
    total_cost: str = Field("", description="元，如 15000.00")
    fund_paid: str = ""
    self_pay_in_policy: str = ""
    self_pay_out_policy: str = ""
    diagnosis_code: str = ""
    documents: list[int] = Field(default_factory=list, description="attachments 返回的编号")
    bank: BankIn | None = Field(None, description="尚未登记银行卡时必填（户名须为本人）")


# --- login ---------------------------------------------------------------------------------


def _problem(exc) -> dict:
    return {
        "detail": exc.message,
        "code": str(exc.code),
        "field": getattr(exc, "field", "") or "",
        "retry_after": getattr(exc, "retry_after", 0) or 0,
        "claim_id": getattr(getattr(exc, "claim", None), "pk", None),
    }


@router.post("/login/code", response={200: CodeSent, 400: Problem, 429: Problem}, auth=None)
def login_code(request, body: CodeIn):
    """发送登录验证码（同一手机号60秒一次）。"""
    try:
        sms_code_request(phone=body.phone, client=client_ip(request) or "")
    except SmsError as exc:
        return Status(429 if exc.retry_after else 400, _problem(exc))
    return Status(200, {"sent": True, "resend_after": 60})


def _login_answer(user: User) -> dict:
    member = member_of_user(user)
    return {
        "bound": True,
        "token": member_token_issue(user),
        "expires_in": TOKEN_MAX_AGE,
        "name": user.first_name,
        "consent_due": member is not None and consent_answer_due(member) is not None,
    }


# --- consent -------------------------------------------------------------------------------


def _consent(member, text) -> dict:
    state = consent_state(member)
    answered = consent_answered_version(member)
    return {
        "version": text.version,
        "title": text.title,
        "body": text.body,
        "published_at": text.published_at,
        "due": answered < text.version,
        "answered_version": answered,
        "status": state.status,
        "status_label": str(state.label),
        "withheld": state.withheld,
        "detail": state.detail,
    }


NO_TEXT = {"detail": "尚未发布个人信息处理同意书", "code": "no_consent_text"}


@router.get("/consent", response={200: ConsentOut, 403: Problem, 404: Problem}, auth=AUTH)
def consent_read(request):
    """个人信息处理同意书：现行版本的全文和本人的回答（未回答前其他接口返回403
    consent_required）。"""
    member = _member(request, consent=False)
    text = consent_text_current()
    if text is None:
        return Status(404, NO_TEXT)
    return Status(200, _consent(member, text))


@router.post(
    "/consent",
    response={200: ConsentOut, 400: Problem, 403: Problem, 404: Problem, 409: Problem},
    auth=AUTH,
)
def consent_answer(request, body: ConsentIn):
    """同意（accept）或不同意/撤回（withdraw）现行同意书；`version` 须为职工看到的版本，
    其间发布了新版本时返回409 consent_version_changed（请重新读取）。撤回后平台不再根据
    医保结算数据自动办理互助金，职工仍可在线申请。记入审计日志。"""
    member = _member(request, consent=False)
    if body.action not in ("accept", "withdraw"):
        return Status(
            400,
            {"detail": "action 应为 accept 或 withdraw", "code": "bad_action", "field": "action"},
        )
    text = consent_text_current()
    if text is None:
        return Status(404, NO_TEXT)
    if body.version != text.version:
        return Status(
            409,
            {
                "detail": f"同意书已更新为第{text.version}版，请重新阅读后回答",
                "code": "consent_version_changed",
                "field": "version",
            },
        )
    consent_member_answer(
        member=member, accept=body.action == "accept", acting_user=request.auth, text=text
    )
    return Status(200, _consent(member, text))


@router.post("/login/verify", response={200: LoginOut, 400: Problem, 429: Problem}, auth=None)
def login_verify(request, body: VerifyIn):
    """校验验证码：已绑定返回 token；首次登录返回 bind_token。"""
    try:
        phone = sms_code_verify(phone=body.phone, code=body.code, client=client_ip(request) or "")
    except SmsError as exc:
        return Status(429 if exc.code == "locked" else 400, _problem(exc))
    user = member_user_for_phone(phone)
    if user is not None:
        return Status(200, _login_answer(user))
    return Status(200, {"bound": False, "bind_token": signing.dumps({"p": phone}, salt=BIND_SALT)})


@router.post("/login/bind", response={200: LoginOut, 400: Problem, 429: Problem}, auth=None)
def login_bind(request, body: BindIn):
    """首次登录：用姓名和身份证号绑定职工身份。核对未通过每个手机号24小时内最多5次、每个
    网络地址每小时最多20次（超过返回429，`retry_after`秒后再试）；未通过时不说明原因。"""
    try:
        phone = signing.loads(body.bind_token, salt=BIND_SALT, max_age=BIND_MAX_AGE)["p"]
    except (signing.BadSignature, KeyError, TypeError):
        return Status(
            400, {"detail": "绑定凭证无效或已过期，请重新获取验证码", "code": "bad_bind_token"}
        )
    try:
        user = member_bind(
            phone=phone, name=body.name, id_number=body.id_number, client=client_ip(request) or ""
        )
    except StepRefused as exc:
        return Status(429 if exc.code == "too_many_tries" else 400, _problem(exc))
    return Status(200, _login_answer(user))


# --- coverage and claims -------------------------------------------------------------------


@router.get("/coverage", response={200: list[CoverageOut], 403: Problem}, auth=AUTH)
def coverage(request):
    """我的保障：各年度参保、保障开始、观察期、方案补助标准（由方案生成）。"""
    member = _member(request)
    return Status(
        200,
        [
            {
                "year": c.scheme_year.year,
                "scheme_year": str(c.scheme_year),
                "union": c.union_name,
                "enrolled_on": c.enrolled_on,
                "renewal": c.renewal,
                "coverage_start": c.coverage_start,
                "waiting_period_end": c.waiting_end,
                "claim_window_days": c.claim_window_days,
                "benefits": [
                    {"code": b.code, "name": b.name, "kind": b.kind, "lines": list(b.lines)}
                    for b in c.benefits
                ],
            }
            for c in selectors.coverages_of_member(member)
        ],
    )


def _summary(claim) -> dict:
    return {
        "id": claim.pk,
        "number": claim.number,
        "status": claim.status,
        "status_label": claim.get_status_display(),
        "source": claim.source,
        "benefit_code": claim.benefit_code,
        "benefit_name": claim.benefit_name,
        "hospital_name": claim.hospital_name,
        "admit_date": claim.admit_date,
        "discharge_date": claim.discharge_date,
        "amount_fen": claim.amount_fen if claim.status in ("approved", "paid") else None,
        "created_at": claim.created_at,
    }


def _by(step) -> str:
    if step.actor is None:
        return "平台"
    return {"member": "本人", "union_operator": "工会经办人"}.get(step.actor.role, "市总工会")


def _document(doc) -> dict:
    invoice = doc.invoice_qr or None
    return {
        "id": doc.pk,
        "kind": doc.kind,
        "name": doc.original_name,
        "content_type": doc.content_type,
        "size": doc.size,
        "invoice": invoice,
    }


def _detail(claim) -> dict:
    approved = claim.status in ("approved", "paid")
    return {
        **_summary(claim),
        "invoice_number": claim.invoice_number,
        "total_cost_fen": claim.total_cost_fen,
        "fund_paid_fen": claim.fund_paid_fen,
        "self_pay_in_policy_fen": claim.self_pay_in_policy_fen,
        "self_pay_out_policy_fen": claim.self_pay_out_policy_fen,
        "diagnosis_code": claim.diagnosis_code,
        "explanation": claim.explanation if approved else "",
        "status_reason": claim.status_reason,
        "paid_at": claim.paid_at,
        "timeline": [
            {
                "from_status": t.from_status,
                "to_status": t.to_status,
                "to_label": t.get_to_status_display(),
                "at": t.at,
                "by": _by(t),
                "reason": t.reason,
            }
            for t in claim_timeline(claim)
        ],
        "documents": [_document(d) for d in claim.documents.all()],
    }


@router.get("/claims", response={200: list[ClaimSummary], 403: Problem}, auth=AUTH)
def claims(request):
    """我的申请（最新在前）。"""
    member = _member(request)
    return Status(200, [_summary(c) for c in selectors.claims_of_member(member)[:200]])


@router.get(
    "/claims/{claim_id}", response={200: ClaimDetail, 403: Problem, 404: Problem}, auth=AUTH
)
def claim_detail(request, claim_id: int):
    """申请详情：办理进度（每一步的时间和意见）、金额及计算说明。"""
    _member(request)
    try:
        claim = access_claim_by_id(request.auth, claim_id)
    except Http404:
        return Status(404, {"detail": "申请不存在", "code": "not_found"})
    return Status(200, _detail(claim))


@router.post("/claims", response={201: ClaimDetail, 400: Problem, 403: Problem}, auth=AUTH)
def claim_create(request, body: ClaimIn):
    """提交申请（先用 attachments 上传发票、结算单、出院小结，再带上编号提交）。"""
    member = _member(request)
    raw = body.dict(exclude={"documents", "bank"})
    try:
        claim = claim_file(
            acting_user=request.auth,
            member=member,
            raw=raw,
            document_ids=body.documents,
            bank=body.bank.dict() if body.bank else None,
        )
    except StepRefused as exc:
        return Status(400, _problem(exc))
    return Status(201, _detail(claim))


@router.post("/attachments", response={201: DocumentOut, 400: Problem, 403: Problem}, auth=AUTH)
def attachment_upload(request, kind: Form[str], file: File[UploadedFile]):
    """上传材料（multipart：kind = invoice / settlement_sheet / discharge_summary /
    bank_card；file = JPG、PNG、HEIC 或 PDF，不超过15 MB）：按内容检查类型，照片压缩，
    发票二维码自动识别（返回 invoice）。"""
    member = _member(request)
    try:
        doc = document_upload(
            member=member,
            kind=kind,
            data=file.read(),
            name=file.name or "",
            acting_user=request.auth,
        )
    except StepRefused as exc:
        return Status(400, _problem(exc))
    return Status(201, _document(doc))
