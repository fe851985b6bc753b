"""Checking what callers pass in: field values, amounts, reasons, completeness, duplicates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from ..checks import stay_problems
from ..error_codes import ClaimError, ClaimErrorCode
from ..ledger import LedgerTotals, ledger_write
from ..models import (
    Claim,
    ClaimSource,
    ClaimStatus,
    MemberYearLedger,
)

S = ClaimStatus
E = ClaimErrorCode


@dataclass(frozen=True)
class ClaimAmount:
    """The rules engine's result for one claim (computed outside this app)."""

    amount_fen: int
    breakdown: dict = field(default_factory=dict)
    explanation: str = ""
    plan_version_number: int | None = None
    plan_version_id: int | None = None  # the plans.PlanVersion row, when the caller has it
    # Member-year totals after this claim; written to the locked ledger row when given.
    ledger_totals: LedgerTotals | None = None


# An amount, or a function computing it from the locked claim and ledger row.
AmountSource = ClaimAmount | Callable[[Claim, MemberYearLedger], ClaimAmount]

# Fields a claimant (member or union operator) fills in or corrects.
CLAIMANT_FIELDS = frozenset(
    {
        "benefit_code",
        "benefit_name",
        "hospital_name",
        "admit_date",
        "discharge_date",
        "invoice_number",
        "invoice_code",
        "total_cost_fen",
        "fund_paid_fen",
        "self_pay_in_policy_fen",
        "self_pay_out_policy_fen",
        "diagnosis_code",
    }
)
# The platform also knows the bureau's settlement id and the hospital's code.
PLATFORM_FIELDS = CLAIMANT_FIELDS | {"settlement_id", "hospital_code"}
STAY_BASE_FIELDS = (
    "total_cost_fen",
    "fund_paid_fen",
    "self_pay_in_policy_fen",
    "self_pay_out_policy_fen",
)
_NULL_WHEN_EMPTY = frozenset({"invoice_number", "settlement_id"})


# --- input checks --------------------------------------------------------------------------


def _field_label(name: str) -> str:
    return str(Claim._meta.get_field(name).verbose_name)


def _check_amount(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ClaimError(
            E.INVALID_AMOUNT,
            _("“%(field)s”必须是不小于0的整数分，收到：%(value)r")
            % {"field": _field_label(name), "value": value},
            field=name,
        )
    return value


def _clean_data(data: dict | None, allowed: frozenset[str]) -> dict:
    """Validate field values for a claim; unknown fields and wrong types are refused."""
    cleaned = {}
    for name, value in (data or {}).items():
        if name not in allowed:
            raise ClaimError(E.INVALID_FIELD, _("不能填写字段“%(f)s”。") % {"f": name}, field=name)
        model_field = Claim._meta.get_field(name)
        if name.endswith("_fen"):
            cleaned[name] = None if value is None else _check_amount(value, name)
        elif isinstance(model_field, models.DateField):
            if value is not None and (
                not isinstance(value, dt.date) or isinstance(value, dt.datetime)
            ):
                raise ClaimError(
                    E.INVALID_FIELD,
                    _("“%(f)s”不是有效日期。") % {"f": _field_label(name)},
                    field=name,
                )
            cleaned[name] = value
        else:
            value = "" if value is None else value
            if not isinstance(value, str):
                raise ClaimError(
                    E.INVALID_FIELD,
                    _("“%(f)s”必须是文本。") % {"f": _field_label(name)},
                    field=name,
                )
            value = value.strip()
            if len(value) > model_field.max_length:
                raise ClaimError(
                    E.INVALID_FIELD,
                    _("“%(f)s”超过%(n)s个字符。")
                    % {"f": _field_label(name), "n": model_field.max_length},
                    field=name,
                )
            cleaned[name] = None if (name in _NULL_WHEN_EMPTY and not value) else value
    return cleaned


def _check_complete(claim: Claim) -> None:
    """What a claim needs before anyone can review it. A claim from a settlement record
    (it carries the settlement id) needs no hospital name: the bureau's record identifies the
    stay, and its `hospital` field is optional (the bulk import path never required it)."""
    required = ("benefit_code", "admit_date", "discharge_date")
    if not claim.settlement_id:
        required = ("benefit_code", "hospital_name", "admit_date", "discharge_date")
    missing = [name for name in required if not getattr(claim, name)]
    if missing:
        raise ClaimError(
            E.INCOMPLETE,
            _("请填写：%(fields)s。") % {"fields": "、".join(_field_label(n) for n in missing)},
            field=missing[0],
        )
    if claim.discharge_date < claim.admit_date:
        raise ClaimError(E.INVALID_FIELD, _("出院日期早于入院日期。"), field="discharge_date")
    if claim.source == ClaimSource.MANUAL:
        _check_manual(claim)
    year = claim.scheme_year
    if not (year.start <= claim.discharge_date <= year.end):
        raise ClaimError(
            E.WRONG_SCHEME_YEAR,
            _("出院日期%(d)s不在%(year)s（%(start)s至%(end)s）内。")
            % {"d": claim.discharge_date, "year": year, "start": year.start, "end": year.end},
            field="discharge_date",
        )


def _check_manual(claim: Claim) -> None:
    """A claim people filed gets the import's checks of the stay's figures (refused here, where
    an auto-claim goes to a reviewer), and its invoice may not be another member's claim."""
    problems = stay_problems(
        admit=claim.admit_date,
        discharge=claim.discharge_date,
        total_cost_fen=claim.total_cost_fen,
        fund_paid_fen=claim.fund_paid_fen,
        self_pay_in_policy_fen=claim.self_pay_in_policy_fen,
        self_pay_out_policy_fen=claim.self_pay_out_policy_fen,
    )
    if problems:
        raise ClaimError(
            E.INVALID_AMOUNT if problems[0][0].endswith("_fen") else E.INVALID_FIELD,
            "；".join(message for _field, message in problems),
            field=problems[0][0],
        )
    if claim.invoice_number and _invoice_of_another_member(claim):
        raise ClaimError(
            E.DUPLICATE_INVOICE,
            _("发票%(i)s已用于其他职工的申请，同一张发票不能重复申请。")
            % {"i": claim.invoice_number},
            field="invoice_number",
        )


def _invoice_of_another_member(claim: Claim) -> bool:
    return (
        Claim.objects.filter(
            invoice_code=claim.invoice_code or "", invoice_number=claim.invoice_number
        )
        .exclude(member_id=claim.member_id)
        .exclude(status__in=[S.REJECTED, S.VOID, S.DRAFT])
        .exists()
    )


def _require_reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ClaimError(E.REASON_REQUIRED, _("请填写%(what)s。") % {"what": what}, field="reason")
    return reason


def _duplicate_error(claim: Claim) -> ClaimError | None:
    """Name the unique constraint a failed write ran into, or None if it was another one."""
    others = Claim.objects.exclude(pk=claim.pk) if claim.pk else Claim.objects.all()
    if claim.settlement_id:
        number = (
            others.filter(settlement_id=claim.settlement_id, benefit_code=claim.benefit_code)
            .values_list("number", flat=True)
            .first()
        )
        if number:
            return ClaimError(
                E.DUPLICATE_SETTLEMENT,
                _("结算流水号%(s)s的该项互助已受理（申请%(n)s），不会重复受理。")
                % {"s": claim.settlement_id, "n": number},
                field="settlement_id",
            )
    if claim.invoice_number:
        number = (
            others.filter(
                invoice_code=claim.invoice_code or "",
                invoice_number=claim.invoice_number,
                benefit_code=claim.benefit_code,
                member_id=claim.member_id,
            )
            .exclude(status__in=[S.REJECTED, S.VOID])
            .values_list("number", flat=True)
            .first()
        )
        if number:
            return ClaimError(
                E.DUPLICATE_INVOICE,
                _("发票%(i)s已用于申请%(n)s，不能重复申请。")
                % {"i": claim.invoice_number, "n": number},
                field="invoice_number",
            )
        if _invoice_of_another_member(claim):
            return ClaimError(
                E.DUPLICATE_INVOICE,
                _("发票%(i)s已用于其他职工的申请，同一张发票不能重复申请。")
                % {"i": claim.invoice_number},
                field="invoice_number",
            )
    return None


def _save_checked(claim: Claim, **save_kwargs) -> None:
    """Save inside a savepoint so a unique-constraint clash becomes a ClaimError."""
    try:
        with transaction.atomic():
            claim.save(**save_kwargs)
    except IntegrityError:
        error = _duplicate_error(claim)
        if error is None:
            raise
        raise error from None


def _jsonable(value):
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    return value


def _amount_changes(amount: ClaimAmount) -> dict:
    _check_amount(amount.amount_fen, "amount_fen")
    return {
        "amount_fen": amount.amount_fen,
        "breakdown": amount.breakdown,
        "explanation": amount.explanation,
        "plan_version_number": amount.plan_version_number,
        "plan_version_id": amount.plan_version_id,
    }


def _resolve_amount(source: AmountSource, claim: Claim, ledger: MemberYearLedger) -> dict:
    amount = source(claim, ledger) if callable(source) else source
    if amount.ledger_totals is not None:
        ledger_write(ledger, amount.ledger_totals)
    return _amount_changes(amount)
