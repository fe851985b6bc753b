"""Reads of settlement batches for the staff pages (federation staff only see them)."""

from __future__ import annotations

from django.http import Http404

from .models import SettlementBatch, SettlementRecord, SettlementRowProblem

__all__ = [
    "batch_list",
    "batch_get",
    "batch_problems",
    "batch_review_records",
    "settlement_record_for_claim",
]


def batch_list():
    return SettlementBatch.objects.select_related("created_by").order_by("-created_at", "-id")


def batch_get(batch_id) -> SettlementBatch:
    try:
        return SettlementBatch.objects.select_related("created_by").get(pk=int(batch_id))
    except (SettlementBatch.DoesNotExist, TypeError, ValueError):
        raise Http404("batch not found")


def batch_problems(batch: SettlementBatch):
    return SettlementRowProblem.objects.filter(batch=batch).order_by("row_number", "id")


def batch_review_records(batch: SettlementBatch):
    """Records of the batch flagged for a reviewer (doubtful stays, unmatched reversals)."""
    return (
        SettlementRecord.objects.filter(batch=batch)
        .exclude(review_reason="")
        .order_by("row_number")
    )


def settlement_record_for_claim(claim) -> SettlementRecord | None:
    if not claim.settlement_id:
        return None
    return (
        SettlementRecord.objects.select_related("batch")
        .filter(settlement_id=claim.settlement_id)
        .first()
    )
