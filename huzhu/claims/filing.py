"""Filing a manual claim (member pages, member API, a union operator's counter): the rules
that come before the claims core's transitions (`huzhu.claims.services`): the form's fields
(`parse_claim_form`), the plan's benefit, the claim window, the stay already claimed, the
papers every claim carries (`REQUIRED_DOCUMENTS`), the invoice identity, and the bank account
when none is on file (`huzhu.claims.payees.bank_card_change`).

Refusals raise `StepRefused` (`huzhu.core.errors`) naming the form field.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.db.models import Case, When
from django.utils import timezone

from huzhu.core.errors import StepRefused
from huzhu.core.money import MoneyError, yuan_to_fen
from huzhu.members.models import DocumentKind, Member, MemberDocument
from huzhu.plans.rules.explain import BASE_LABELS

from . import member_selectors as selectors
from .checks import InvoiceMismatch, invoice_identity, invoice_number_normalize
from .error_codes import ClaimError
from .member_selectors import benefit_texts, scheme_year_for_day
from .models import Claim, ClaimSource, ClaimStatus
from .payees import bank_card_change
from .services import claim_resubmit, claim_save_draft, claim_submit

__all__ = [
    "AMOUNT_FIELDS",
    "LABELS",
    "REQUIRED_DOCUMENTS",
    "claim_file",
    "claim_keep_draft",
    "claim_refile",
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
    **BASE_LABELS,
    "diagnosis_code": "诊断编码",
}


def _pending_documents(member: Member, ids) -> list[MemberDocument]:
    wanted = []
    for raw in ids or []:
        try:
            wanted.append(int(raw))
        except (TypeError, ValueError):
            raise StepRefused("bad_document", "材料编号无效，请重新上传", field="documents")
    docs = list(MemberDocument.objects.filter(member=member, claim__isnull=True, pk__in=wanted))
    if len(docs) != len(set(wanted)):
        raise StepRefused("bad_document", "有材料已失效或不属于您，请重新上传", field="documents")
    return docs


def invoice_claimed_by(qr: dict | None, member: Member) -> str | None:
    """Why an invoice read from a QR code cannot be used again, or None: a live claim (neither
    rejected nor void) already holds the same invoice number with the same code or with none
    (a claim whose number was typed). The member's own claim is named; another member's is not (its number
    is that member's business)."""
    if not qr or not qr.get("number"):
        return None
    number = invoice_number_normalize(qr["number"])
    code = invoice_number_normalize(qr.get("code"))
    holder = (
        Claim.objects.filter(invoice_number=number, invoice_code__in={code, ""})
        .exclude(status__in=_NOT_LIVE)
        .order_by(Case(When(member_id=member.pk, then=0), default=1), "id")
        .values_list("number", "member_id")
        .first()
    )
    if holder is None:
        return None
    if holder[1] == member.pk:
        return f"发票{number}已用于申请{holder[0]}，不能重复申请。"
    return f"发票{number}已用于其他职工的申请，同一张发票不能重复申请。"


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
        raise StepRefused(
            "bad_date", f"{LABELS[name]}“{text}”不是有效日期（例如 2026-03-05）", field=name
        )


def parse_claim_form(raw: dict) -> dict:
    """Form or API input (yuan amounts as text, dates as YYYY-MM-DD) -> the claim's fields.

    Amounts become integer fen exactly (at most 2 decimals), or StepRefused names the field.
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
            raise StepRefused(f"amount.{exc.code}", f"{LABELS[name]}：{exc.message}", field=name)
        if fen < 0:
            raise StepRefused("amount.negative", f"{LABELS[name]}不能为负数", field=name)
        data[target] = fen
    return data


def _require(data: dict, name: str, target: str | None = None) -> None:
    if data.get(target or name) in (None, ""):
        raise StepRefused("missing", f"请填写{LABELS[name]}", field=name)


def _claim_window_check(scheme_year, discharge: date, today: date) -> None:
    deadline = discharge + timedelta(days=scheme_year.claim_window_days)
    if today > deadline:
        raise StepRefused(
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
        error = StepRefused(
            "auto_claimed",
            f"该次住院已自动受理（申请号{existing.number}），无需再申请。",
            field="discharge_date",
        )
    else:
        error = StepRefused(
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
        raise StepRefused("dates", "出院日期早于入院日期", field="discharge_date")
    if data["discharge_date"] > today:
        raise StepRefused("dates", "出院日期不能晚于今天", field="discharge_date")
    scheme_year = scheme_year_for_day(data["discharge_date"])
    if scheme_year is None:
        raise StepRefused(
            "no_scheme_year",
            f"出院日期{data['discharge_date']:%Y-%m-%d}不在任何互助年度内",
            field="discharge_date",
        )
    plan = selectors.plan_for_scheme_year(scheme_year)
    if plan is None:
        raise StepRefused(
            "no_plan", f"{scheme_year}的互助方案尚未发布，暂不能申请", field="benefit_code"
        )
    texts = {b.code: b for b in benefit_texts(plan)}
    benefit = texts.get(data["benefit_code"])
    if benefit is None:
        raise StepRefused(
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
        raise StepRefused(
            "missing_documents", f"请上传：{'、'.join(str(m) for m in missing)}", field="documents"
        )


def _invoice_identity(data: dict, docs: list[MemberDocument]) -> None:
    """Set the claim's invoice identity (code + number) from the QR code read on an uploaded
    invoice, else the typed number; a typed number other than the QR's is refused with both."""
    qr_codes = [d.invoice_qr for d in docs if d.kind == DocumentKind.INVOICE and d.invoice_qr]
    try:
        identity = invoice_identity(typed_number=data.get("invoice_number"), qr_codes=qr_codes)
    except InvoiceMismatch as exc:
        raise StepRefused("invoice_mismatch", str(exc), field="invoice_number") from None
    data["invoice_number"] = identity.number
    data["invoice_code"] = identity.code


def _claim_error(exc: ClaimError) -> StepRefused:
    # The form names amounts without the unit (`total_cost` for `total_cost_fen`).
    field = exc.field.removesuffix("_fen") if exc.field else exc.field
    return StepRefused(str(exc.code), exc.message, field=field)


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
        raise StepRefused(
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
