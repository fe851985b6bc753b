"""Reads for payments: the queue of payable claims, batches, adjustment items, payee accounts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.apps import apps
from django.db.models import Exists, OuterRef, QuerySet, Sum

from huzhu.claims.models import (
    AdjustmentItem,
    AdjustmentKind,
    AdjustmentStatus,
    Claim,
    ClaimSource,
    ClaimStatus,
    PayeeKind,
)
from huzhu.organizations.models import Union
from huzhu.organizations.selectors import union_descendant_ids

from .error_codes import PaymentError, PaymentErrorCode
from .models import LinkState, PaymentBatch, PaymentRowAdjustment, PaymentRowClaim


@dataclass(frozen=True)
class QueueFilters:
    """What finance picks a batch by. Empty values mean "any"."""

    payee_kind: str = PayeeKind.MEMBER
    union_code: str = ""
    benefit_code: str = ""
    approved_from: dt.date | None = None
    approved_to: dt.date | None = None
    source: str = ""  # ClaimSource value: auto / manual / onestop

    def as_dict(self) -> dict:
        return {
            "payee_kind": self.payee_kind,
            "union": self.union_code,
            "benefit": self.benefit_code,
            "approved_from": self.approved_from.isoformat() if self.approved_from else "",
            "approved_to": self.approved_to.isoformat() if self.approved_to else "",
            "source": self.source,
        }

    def validated(self) -> QueueFilters:
        """Raise PaymentError(BAD_FILTER) naming the wrong filter."""
        if self.payee_kind not in PayeeKind.values:
            raise PaymentError(
                PaymentErrorCode.BAD_FILTER,
                f"收款方“{self.payee_kind}”无效（应为 member 或 hospital）",
            )
        if self.source and self.source not in ClaimSource.values:
            raise PaymentError(
                PaymentErrorCode.BAD_FILTER,
                f"申请来源“{self.source}”无效（应为 {'、'.join(ClaimSource.values)}）",
            )
        if self.union_code and not Union.objects.filter(code=self.union_code).exists():
            raise PaymentError(PaymentErrorCode.BAD_FILTER, f"工会代码 {self.union_code} 不存在")
        if self.approved_from and self.approved_to and self.approved_from > self.approved_to:
            raise PaymentError(
                PaymentErrorCode.BAD_FILTER,
                f"核准日期范围无效：{self.approved_from} 晚于 {self.approved_to}",
            )
        return self


def _live_link(claim_ref="pk"):
    return PaymentRowClaim.objects.filter(claim_id=OuterRef(claim_ref), released=False)


def payable_claims(filters: QueueFilters) -> QuerySet[Claim]:
    """Approved claims of more than 0.00 that are in no open batch and not paid: the queue."""
    qs = Claim.objects.filter(
        status=ClaimStatus.APPROVED, amount_fen__gt=0, payee_kind=filters.payee_kind
    ).filter(~Exists(_live_link()))
    if filters.union_code:
        root = Union.objects.filter(code=filters.union_code).values_list("id", flat=True).first()
        qs = qs.filter(union_id__in=union_descendant_ids([root]) if root else [])
    if filters.benefit_code:
        qs = qs.filter(benefit_code=filters.benefit_code)
    if filters.approved_from:
        qs = qs.filter(approved_at__date__gte=filters.approved_from)
    if filters.approved_to:
        qs = qs.filter(approved_at__date__lte=filters.approved_to)
    if filters.source:
        qs = qs.filter(source=filters.source)
    return qs


def _pending_adjustment_link():
    return PaymentRowAdjustment.objects.filter(
        adjustment_id=OuterRef("pk"), state=LinkState.PENDING
    )


def open_adjustments(kind: str) -> QuerySet[AdjustmentItem]:
    """Open adjustment items of `kind` not held by an open batch."""
    return AdjustmentItem.objects.filter(kind=kind, status=AdjustmentStatus.OPEN).filter(
        ~Exists(_pending_adjustment_link())
    )


def payable_top_ups(filters: QueueFilters) -> QuerySet[AdjustmentItem]:
    """Open top-ups (补发) to pay with a member batch: filtered like their claims."""
    if filters.payee_kind != PayeeKind.MEMBER:
        return AdjustmentItem.objects.none()
    qs = open_adjustments(AdjustmentKind.TOP_UP)
    if filters.union_code:
        root = Union.objects.filter(code=filters.union_code).values_list("id", flat=True).first()
        qs = qs.filter(claim__union_id__in=union_descendant_ids([root]) if root else [])
    if filters.benefit_code:
        qs = qs.filter(claim__benefit_code=filters.benefit_code)
    if filters.approved_from:
        qs = qs.filter(created_at__date__gte=filters.approved_from)
    if filters.approved_to:
        qs = qs.filter(created_at__date__lte=filters.approved_to)
    if filters.source:
        qs = qs.filter(claim__source=filters.source)
    return qs


def queue_summary(filters: QueueFilters) -> dict:
    claims = payable_claims(filters)
    agg = claims.aggregate(total=Sum("amount_fen"))
    top_ups = payable_top_ups(filters)
    return {
        "claims": claims.count(),
        "claims_fen": agg["total"] or 0,
        "payees": claims.values(
            "member_id" if filters.payee_kind == PayeeKind.MEMBER else "hospital_code"
        )
        .distinct()
        .count(),
        "top_ups": top_ups.count(),
        "top_ups_fen": sum(a.outstanding_fen for a in top_ups),
    }


def batch_list() -> QuerySet[PaymentBatch]:
    return PaymentBatch.objects.select_related("created_by")


def adjustment_list(*, status: str = "", kind: str = "") -> QuerySet[AdjustmentItem]:
    qs = AdjustmentItem.objects.select_related("member", "claim").order_by("-created_at", "-id")
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def claim_payment_history(claim: Claim) -> QuerySet[PaymentRowClaim]:
    return PaymentRowClaim.objects.filter(claim=claim).select_related("batch", "row")


# --- hospital payees -----------------------------------------------------------------------

# The hospital registry belongs to the one-stop capability. Any of these models, when
# installed, provides a hospital's bank details (fields `code`, `name`, `bank_name` and a
# `bank_account` attribute holding the clear account).
HOSPITAL_MODELS = ("onestop.Hospital", "hospitals.Hospital", "settlements.Hospital")


@dataclass(frozen=True)
class HospitalPayee:
    code: str
    name: str
    bank_name: str
    account: str


def hospital_payees(codes) -> dict[str, HospitalPayee]:
    """Bank details of the hospitals with these codes, from the hospital registry."""
    for label in HOSPITAL_MODELS:
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            continue
        found = {}
        for h in model.objects.filter(code__in=list(codes)):
            found[h.code] = HospitalPayee(
                code=h.code,
                name=h.name,
                bank_name=getattr(h, "bank_name", "") or "",
                account=getattr(h, "bank_account", "") or "",
            )
        return found
    return {}


def hospital_registry_installed() -> bool:
    for label in HOSPITAL_MODELS:
        try:
            apps.get_model(label)
            return True
        except (LookupError, ValueError):
            continue
    return False


__all__ = [
    "QueueFilters",
    "payable_claims",
    "payable_top_ups",
    "open_adjustments",
    "queue_summary",
    "batch_list",
    "adjustment_list",
    "claim_payment_history",
    "hospital_payees",
]
