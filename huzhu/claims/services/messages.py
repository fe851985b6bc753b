"""What the member is told after each transition (Chinese, through gettext)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from huzhu.core.money import format_fen

from ..error_codes import ClaimErrorCode
from ..models import (
    Claim,
    ClaimSource,
    ClaimStatus,
    PayeeKind,
)
from ..notifications import notify_member
from ..workflow import Actor

S = ClaimStatus
E = ClaimErrorCode


def _stay_text(claim: Claim) -> str:
    if claim.admit_date and claim.discharge_date:
        end = (
            claim.discharge_date.strftime("%m-%d")
            if claim.discharge_date.year == claim.admit_date.year
            else claim.discharge_date.isoformat()
        )
        return _("您在%(h)s的住院（%(a)s至%(e)s）") % {
            "h": claim.hospital_name,
            "a": claim.admit_date.isoformat(),
            "e": end,
        }
    return _("您的住院")


def _zero_note(claim: Claim) -> str:
    if claim.amount_fen == 0:
        return _("（%(why)s）") % {"why": claim.explanation or _("本次费用未超过起付线")}
    return ""


def _notice(claim: Claim, from_status: str | None, kind: Actor, reason: str) -> str:
    """The member's message for a transition, or "" when the member needs none."""
    to = claim.status
    benefit = claim.benefit_name or claim.benefit_code
    ctx = {"n": claim.number, "b": benefit, "r": reason}
    if to == S.DRAFT:
        return ""
    if from_status is None and kind == Actor.PLATFORM:
        ctx["s"] = _stay_text(claim)
        if to == S.SUBMITTED:
            return _("%(s)s已自动受理%(b)s（%(n)s），需人工审核后确定金额，结果将另行通知。") % ctx
        ctx["amt"] = format_fen(claim.amount_fen)
        if claim.source == ClaimSource.ONESTOP:
            return _("%(s)s已在出院结算时直接减免%(b)s%(amt)s元（%(n)s）。") % ctx + _zero_note(
                claim
            )
        return _("%(s)s已自动受理%(b)s，金额%(amt)s元，无需申请（%(n)s）") % ctx + _zero_note(claim)
    if to == S.SUBMITTED:
        if kind == Actor.UNION_OPERATOR:
            return _("工会已为您提交%(b)s申请（%(n)s），请等待审核。") % ctx
        return _("您的%(b)s申请（%(n)s）已提交，请等待审核。") % ctx
    if to == S.UNION_REVIEWED:
        return _("您的申请（%(n)s）已通过工会初审，等待市总工会审核。") % ctx
    if to == S.RETURNED:
        return _("您的申请（%(n)s）被退回，请按以下意见修改后重新提交：%(r)s") % ctx
    if to == S.APPROVED:
        ctx["amt"] = format_fen(claim.amount_fen)
        return _("您的申请（%(n)s）已审核通过，互助金额%(amt)s元。") % ctx + _zero_note(claim)
    if to == S.REJECTED:
        return _("您的申请（%(n)s）未通过审核：%(r)s") % ctx
    if to == S.PAID:
        if claim.payee_kind == PayeeKind.HOSPITAL:
            return ""  # the member already had it deducted at the cashier
        ctx["amt"] = format_fen(claim.amount_fen)
        return _("您的申请（%(n)s）互助金%(amt)s元已发放到您的银行账户。") % ctx
    if to == S.VOID:
        return _("您的申请（%(n)s）已作废：%(r)s") % ctx
    return ""


def _notify(claim: Claim, from_status: str | None, kind: Actor, reason: str) -> None:
    text = _notice(claim, from_status, kind, reason)
    if text:
        notify_member(member=claim.member, kind=f"claim_{claim.status}", text=text, claim=claim)
