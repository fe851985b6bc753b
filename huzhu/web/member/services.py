"""Writes of the member app: filing a manual claim with its papers, uploads, the bank card.

Transitions themselves are the claims core's (`huzhu.claims.services`); what is here is what
comes before them for a manual claim: the plan's benefit, the claim window, the stay already
auto-claimed, the uploaded papers, the bank account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from huzhu.audit.services import audit_record
from huzhu.claims.checks import InvoiceMismatch, invoice_identity
from huzhu.claims.error_codes import ClaimError
from huzhu.claims.models import Claim, ClaimSource, ClaimStatus
from huzhu.claims.services import claim_resubmit, claim_save_draft, claim_submit
from huzhu.core.masking import mask_account
from huzhu.core.money import MoneyError, yuan_to_fen
from huzhu.members.documents import (
    DocumentError,
    document_check,
    document_prune_pending,
    document_store,
)
from huzhu.members.fields import (
    FieldError,
    normalize_bank_account,
    normalize_bank_name,
    normalize_name,
)
from huzhu.members.models import DocumentKind, Member, MemberDocument

from . import selectors
from .accounts import MemberAppError
from .selectors import benefit_texts, scheme_year_for_day

__all__ = [
    "AMOUNT_FIELDS",
    "BankCardResult",
    "REQUIRED_DOCUMENTS",
    "bank_card_change",
    "claim_file",
    "claim_keep_draft",
    "claim_refile",
    "document_upload",
    "invoice_claimed_by",
    "parse_claim_form",
]

# Papers every manual claim carries; the bank card photo only when no account is on file.
REQUIRED_DOCUMENTS = (
    DocumentKind.INVOICE,
    DocumentKind.SETTLEMENT_SHEET,
    DocumentKind.DISCHARGE_SUMMARY,
)
AMOUNT_FIELDS = {
    "total_cost": "total_cost_fen",
    "fund_paid": "fund_paid_fen",
    "self_pay_in_policy": "self_pay_in_policy_fen",
    "self_pay_out_policy": "self_pay_out_policy_fen",
}
_NOT_LIVE = (ClaimStatus.REJECTED, ClaimStatus.VOID)
LABELS = {
    "benefit_code": "互助项目",
    "hospital_name": "医院",
    "admit_date": "入院日期",
    "discharge_date": "出院日期",
    "invoice_number": "发票号码",
    "total_cost": "医疗总费用",
    "fund_paid": "统筹基金支付",
    "self_pay_in_policy": "政策范围内个人负担",
    "self_pay_out_policy": "政策范围外自费",
    "diagnosis_code": "诊断编码",
}


# --- uploads -------------------------------------------------------------------------------


def document_upload(*, member: Member, kind: str, data: bytes, name: str, acting_user):
    """Check one uploaded file by content and keep it for the member (not yet on a claim).

    Raises MemberAppError (`field` = the kind, code = the DocumentError's) for a bad file.
    """
    if kind not in DocumentKind.values:
        raise MemberAppError("bad_kind", f"未知的材料类型“{kind}”", field="kind")
    try:
        checked = document_check(data, name=name, read_qr=(kind == DocumentKind.INVOICE))
    except DocumentError as exc:
        raise MemberAppError(exc.code, exc.message, field=kind) from None
    document_prune_pending()
    return document_store(member=member, kind=kind, checked=checked, acting_user=acting_user)


def _pending_documents(member: Member, ids) -> list[MemberDocument]:
    wanted = []
    for raw in ids or []:
        try:
            wanted.append(int(raw))
        except (TypeError, ValueError):
            raise MemberAppError("bad_document", "材料编号无效，请重新上传", field="documents")
    docs = list(MemberDocument.objects.filter(member=member, claim__isnull=True, pk__in=wanted))
    if len(docs) != len(set(wanted)):
        raise MemberAppError(
            "bad_document", "有材料已失效或不属于您，请重新上传", field="documents"
        )
    return docs


def invoice_claimed_by(number: str) -> str | None:
    """The number of a live claim (neither rejected nor void) filed with this invoice."""
    if not number:
        return None
    return (
        Claim.objects.filter(invoice_number=number)
        .exclude(status__in=_NOT_LIVE)
        .values_list("number", flat=True)
        .first()
    )


# --- the claim form ------------------------------------------------------------------------


def _parse_date(value, name: str) -> date | None:
    if isinstance(value, date):
        return value
    text = (value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise MemberAppError(
            "bad_date", f"{LABELS[name]}“{text}”不是有效日期（例如 2026-03-05）", field=name
        )


def parse_claim_form(raw: dict) -> dict:
    """Form or API input (yuan amounts as text, dates as YYYY-MM-DD) -> the claim's fields.

    Amounts become integer fen exactly (at most 2 decimals), or MemberAppError names the field.
    """
    data: dict = {}
    for name in ("benefit_code", "hospital_name", "invoice_number", "diagnosis_code"):
        value = raw.get(name)
        if value is not None:
            data[name] = str(value).strip()
    if not data.get("diagnosis_code") and str(raw.get("diagnosis_pick") or "").strip():
        data["diagnosis_code"] = str(raw["diagnosis_pick"]).strip()  # picked by name
    if data.get("diagnosis_code"):
        data["diagnosis_code"] = data["diagnosis_code"].upper()
    for name in ("admit_date", "discharge_date"):
        data[name] = _parse_date(raw.get(name), name)
    for name, target in AMOUNT_FIELDS.items():
        value = raw.get(name)
        if value in (None, ""):
            continue
        try:
            fen = yuan_to_fen(str(value).strip().replace(",", ""))
        except MoneyError as exc:
            raise MemberAppError(f"amount.{exc.code}", f"{LABELS[name]}：{exc.message}", field=name)
        if fen < 0:
            raise MemberAppError("amount.negative", f"{LABELS[name]}不能为负数", field=name)
        data[target] = fen
    return data


def _require(data: dict, name: str, target: str | None = None) -> None:
    if data.get(target or name) in (None, ""):
        raise MemberAppError("missing", f"请填写{LABELS[name]}", field=name)


def _claim_window_check(scheme_year, discharge: date, today: date) -> None:
    deadline = discharge + timedelta(days=scheme_year.claim_window_days)
    if today > deadline:
        raise MemberAppError(
            "window_closed",
            f"已超过申请期限：出院日期{discharge:%Y-%m-%d}，须在出院后"
            f"{scheme_year.claim_window_days}天内（{deadline:%Y-%m-%d}前）申请。",
            field="discharge_date",
        )


def _existing_claim_check(member: Member, data: dict, exclude_pk: int | None) -> None:
    """Stop a claim for a stay an auto-claim (or an earlier claim) already covers."""
    same_stay = (
        Claim.objects.filter(
            member=member,
            admit_date=data["admit_date"],
            discharge_date=data["discharge_date"],
            benefit_code=data["benefit_code"],
        )
        .exclude(status__in=_NOT_LIVE)
        .exclude(status=ClaimStatus.DRAFT)
    )
    if exclude_pk:
        same_stay = same_stay.exclude(pk=exclude_pk)
    existing = same_stay.order_by("created_at").first()
    if existing is None:
        return
    if existing.source in (ClaimSource.AUTO, ClaimSource.ONESTOP):
        error = MemberAppError(
            "auto_claimed",
            f"该次住院已自动受理（申请号{existing.number}），无需再申请。",
            field="discharge_date",
        )
    else:
        error = MemberAppError(
            "already_claimed",
            f"该次住院已申请过此项互助（申请号{existing.number}），不能重复申请。",
            field="discharge_date",
        )
    error.claim = existing  # the page links to it
    raise error


def _check_claim_input(member: Member, data: dict, *, today: date, exclude_pk=None):
    _require(data, "benefit_code")
    _require(data, "hospital_name")
    _require(data, "admit_date")
    _require(data, "discharge_date")
    if data["discharge_date"] < data["admit_date"]:
        raise MemberAppError("dates", "出院日期早于入院日期", field="discharge_date")
    if data["discharge_date"] > today:
        raise MemberAppError("dates", "出院日期不能晚于今天", field="discharge_date")
    scheme_year = scheme_year_for_day(data["discharge_date"])
    if scheme_year is None:
        raise MemberAppError(
            "no_scheme_year",
            f"出院日期{data['discharge_date']:%Y-%m-%d}不在任何互助年度内",
            field="discharge_date",
        )
    plan = selectors.plan_for_scheme_year(scheme_year)
    if plan is None:
        raise MemberAppError(
            "no_plan", f"{scheme_year}的互助方案尚未发布，暂不能申请", field="benefit_code"
        )
    texts = {b.code: b for b in benefit_texts(plan)}
    benefit = texts.get(data["benefit_code"])
    if benefit is None:
        raise MemberAppError(
            "bad_benefit",
            f"{scheme_year}没有互助项目“{data['benefit_code']}”",
            field="benefit_code",
        )
    data["benefit_name"] = benefit.name
    if benefit.kind == "inpatient":
        base = next(k for k, v in AMOUNT_FIELDS.items() if v == benefit.base_field)
        _require(data, base, benefit.base_field)
    if benefit.needs_diagnosis:
        _require(data, "diagnosis_code")
    _require(data, "invoice_number")
    _claim_window_check(scheme_year, data["discharge_date"], today)
    _existing_claim_check(member, data, exclude_pk)
    return scheme_year


def _documents_check(member: Member, docs: list[MemberDocument], *, need_bank_card: bool):
    kinds = {d.kind for d in docs}
    needed = list(REQUIRED_DOCUMENTS)
    if need_bank_card:
        needed.append(DocumentKind.BANK_CARD)
    missing = [DocumentKind(k).label for k in needed if k not in kinds]
    if missing:
        raise MemberAppError(
            "missing_documents", f"请上传：{'、'.join(str(m) for m in missing)}", field="documents"
        )


def _invoice_identity(data: dict, docs: list[MemberDocument]) -> None:
    """Set the claim's invoice identity (code + number) from the QR code read on an uploaded
    invoice, else the typed number; a typed number other than the QR's is refused with both."""
    qr_codes = [d.invoice_qr for d in docs if d.kind == DocumentKind.INVOICE and d.invoice_qr]
    try:
        identity = invoice_identity(typed_number=data.get("invoice_number"), qr_codes=qr_codes)
    except InvoiceMismatch as exc:
        raise MemberAppError("invoice_mismatch", str(exc), field="invoice_number") from None
    data["invoice_number"] = identity.number
    data["invoice_code"] = identity.code


def _claim_error(exc: ClaimError) -> MemberAppError:
    # The form names amounts without the unit (`total_cost` for `total_cost_fen`).
    field = exc.field.removesuffix("_fen") if exc.field else exc.field
    return MemberAppError(str(exc.code), exc.message, field=field)


def claim_file(
    *,
    acting_user,
    member: Member,
    raw: dict,
    document_ids=(),
    bank: dict | None = None,
    draft: Claim | None = None,
    today: date | None = None,
) -> Claim:
    """File a manual claim (member or their union operator) with its papers: `submitted`.

    `raw` is the form/API input (see `parse_claim_form`); `document_ids` the member's pending
    uploads; `bank` = {account_name, bank_name, bank_account} when no account is on file yet
    (the photo of the card is then required too); `draft` the member's saved draft being sent
    (its papers count). All or nothing: one transaction.
    """
    today = today or timezone.localdate()
    data = parse_claim_form(raw)
    scheme_year = _check_claim_input(member, data, today=today)
    docs = _pending_documents(member, document_ids)
    kept = list(draft.documents.all()) if draft is not None else []
    need_bank = not member.bank_account_last4
    _documents_check(member, docs + kept, need_bank_card=need_bank)
    _invoice_identity(data, docs + kept)
    try:
        with transaction.atomic():
            if need_bank:
                bank_card_change(member=member, acting_user=acting_user, **(bank or {}))
            if draft is not None:
                claim = claim_submit(acting_user=acting_user, claim=draft, data=data)
            else:
                claim = claim_submit(
                    acting_user=acting_user, member=member, scheme_year=scheme_year, data=data
                )
            MemberDocument.objects.filter(pk__in=[d.pk for d in docs]).update(claim=claim)
    except ClaimError as exc:
        raise _claim_error(exc) from None
    return claim


def claim_keep_draft(
    *, acting_user, member: Member, raw: dict, document_ids=(), draft: Claim | None = None
) -> Claim:
    """Save the form as the member's draft (not sent; may be incomplete) with its papers.

    The scheme year is the discharge date's when given, else the current one.
    """
    data = {k: v for k, v in parse_claim_form(raw).items() if v not in (None, "")}
    docs = _pending_documents(member, document_ids)
    day = data.get("discharge_date") or timezone.localdate()
    year = draft.scheme_year if draft is not None else scheme_year_for_day(day)
    if year is None:
        raise MemberAppError(
            "no_scheme_year", f"{day:%Y-%m-%d}不在任何互助年度内", field="discharge_date"
        )
    plan = selectors.plan_for_scheme_year(year)
    names = {b.code: b.name for b in plan.benefits} if plan is not None else {}
    if data.get("benefit_code") in names:
        data["benefit_name"] = names[data["benefit_code"]]
    try:
        with transaction.atomic():
            if draft is None:
                claim = claim_save_draft(
                    acting_user=acting_user, member=member, scheme_year=year, data=data
                )
            else:
                claim = claim_save_draft(acting_user=acting_user, claim=draft, data=data)
            MemberDocument.objects.filter(pk__in=[d.pk for d in docs]).update(claim=claim)
    except ClaimError as exc:
        raise _claim_error(exc) from None
    return claim


def claim_refile(
    *, acting_user, claim: Claim, raw: dict, document_ids=(), today: date | None = None
) -> Claim:
    """The claimant corrects a returned claim and sends it again (new papers optional)."""
    today = today or timezone.localdate()
    data = parse_claim_form(raw)
    merged = {
        **{n: getattr(claim, n) for n in ("benefit_code", "hospital_name", "admit_date")},
        "discharge_date": claim.discharge_date,
        "invoice_number": claim.invoice_number,
        "diagnosis_code": claim.diagnosis_code,
        **{t: getattr(claim, t) for t in AMOUNT_FIELDS.values()},
        **{k: v for k, v in data.items() if v not in (None, "")},
    }
    _check_claim_input(claim.member, merged, today=today, exclude_pk=claim.pk)
    docs = _pending_documents(claim.member, document_ids)
    _invoice_identity(merged, docs + list(claim.documents.all()))
    changes = {k: merged[k] for k in merged if k != "scheme_year"}
    try:
        with transaction.atomic():
            claim = claim_resubmit(claim=claim, acting_user=acting_user, data=changes)
            MemberDocument.objects.filter(pk__in=[d.pk for d in docs]).update(claim=claim)
    except ClaimError as exc:
        raise _claim_error(exc) from None
    return claim


# --- bank card -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BankCardResult:
    member: Member
    changed: bool
    to_new_account: tuple[str, ...]  # approved claims not yet in a batch: paid to the new card
    to_old_account: tuple[str, ...]  # claims already in a payment batch: paid to the old card
    message: str


def _claims_in_live_batch(member: Member) -> set[int]:
    try:
        from huzhu.payments.models import PaymentRowClaim
    except ImportError:  # pragma: no cover - the payments app is installed in this project
        return set()
    # A link that is not released holds its claim in a batch (open, or sent to the bank).
    return set(
        PaymentRowClaim.objects.filter(
            claim__member=member, claim__status=ClaimStatus.APPROVED, released=False
        ).values_list("claim_id", flat=True)
    )


def bank_card_change(
    *,
    member: Member,
    acting_user,
    account_name: str = "",
    bank_name: str = "",
    bank_account: str = "",
) -> BankCardResult:
    """Change the account the member's payments go to. Audited (masked before -> after).

    The account holder's name must be the member's own name. Approved claims already in a
    payment batch stay with the account the batch was made with; the result (and its
    message) names them and the claims that will now go to the new account, so no pending
    payment is redirected silently.
    """
    try:
        holder = normalize_name(account_name)
    except FieldError as exc:
        raise MemberAppError(exc.code, f"户名：{exc.message}", field="account_name") from None
    if holder != normalize_name(member.name):
        raise MemberAppError(
            "name_mismatch",
            f"户名“{holder}”与职工本人姓名不一致：互助金只能发放到本人名下的银行账户",
            field="account_name",
        )
    try:
        bank = normalize_bank_name(bank_name)
        account = normalize_bank_account(bank_account)
    except FieldError as exc:
        field = "bank_name" if exc.code == "bad_bank_name" else "bank_account"
        raise MemberAppError(exc.code, exc.message, field=field) from None
    if not bank:
        raise MemberAppError("missing", "请填写开户银行", field="bank_name")
    if not account:
        raise MemberAppError("missing", "请填写银行卡号", field="bank_account")
    with transaction.atomic():
        locked = Member.objects.select_for_update().get(pk=member.pk)
        old_account, old_bank = locked.bank_account, locked.bank_name
        changed = old_account != account or old_bank != bank
        in_batch = _claims_in_live_batch(locked)
        approved = list(
            Claim.objects.filter(
                member=locked, status=ClaimStatus.APPROVED, payee_kind="member", amount_fen__gt=0
            ).order_by("approved_at", "id")
        )
        to_old = tuple(c.number for c in approved if c.pk in in_batch)
        to_new = tuple(c.number for c in approved if c.pk not in in_batch)
        if changed:
            locked.bank_account = account
            locked.bank_name = bank
            locked.save(
                update_fields=[
                    "bank_account_encrypted",
                    "bank_account_last4",
                    "bank_name",
                    "updated_at",
                ]
            )
            audit_record(
                actor=acting_user,
                action="member.bank_card_change",
                obj=locked,
                before={
                    "bank_name": old_bank,
                    "bank_account": mask_account(old_account[-4:]) if old_account else "",
                },
                after={
                    "bank_name": bank,
                    "bank_account": mask_account(account[-4:]),
                    "paid_to_new_account": list(to_new),
                    "already_in_batch": list(to_old),
                },
            )
    parts = [f"银行卡已更新为{bank}尾号{account[-4:]}。" if changed else "银行卡信息未变化。"]
    if changed and to_new:
        parts.append(f"待发放的申请{'、'.join(to_new)}将发放到新卡。")
    if changed and to_old:
        parts.append(
            f"申请{'、'.join(to_old)}已纳入发放批次，仍发放到原账户尾号{old_account[-4:]}；"
            "如原卡无法入账，银行退回后将在下一批次发放到新卡。"
        )
    member.bank_account_encrypted = locked.bank_account_encrypted
    member.bank_account_last4 = locked.bank_account_last4
    member.bank_name = locked.bank_name
    return BankCardResult(locked, changed, to_new, to_old, "".join(parts))
