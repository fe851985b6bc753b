"""Writes of the enrollment app: the sheet import (see imports.py) and withdrawals."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from huzhu.audit.services import audit_record
from huzhu.core.tabular import RowProblem, TabularError
from huzhu.organizations.selectors import union_visible_ids

from .imports import EnrollmentImportResult, ImportPreviewRow, enrollment_import
from .models import Enrollment

__all__ = [
    "EnrollmentImportResult",
    "ImportPreviewRow",
    "RowProblem",
    "TabularError",
    "enrollment_import",
    "enrollment_withdraw",
]


def enrollment_withdraw(*, enrollment, acting_user, reason: str, today=None) -> None:
    """Withdraw an enrollment (退保) before its scheme year starts; audited.

    Raises ValidationError (code `already_withdrawn`, `year_started` or `reason_required`)
    and PermissionDenied when the enrollment's union is outside the user's scope. A
    withdrawn enrollment no longer counts for the one-union-per-year rule nor for renewal.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("请填写退保原因", code="reason_required")
    visible = union_visible_ids(acting_user)
    if visible is not None and enrollment.union_id not in visible:
        raise PermissionDenied("not your union")
    today = today or timezone.localdate()
    with transaction.atomic():
        locked = (
            Enrollment.objects.select_for_update()
            .select_related("scheme_year")
            .get(pk=enrollment.pk)
        )
        if locked.withdrawn_at is not None:
            raise ValidationError("该参保记录已退保", code="already_withdrawn")
        if today >= locked.scheme_year.start:
            raise ValidationError(
                f"{locked.scheme_year.year}年度已于{locked.scheme_year.start:%Y-%m-%d}开始，"
                "年度开始后不能退保",
                code="year_started",
            )
        locked.withdrawn_at = timezone.now()
        locked.save(update_fields=["withdrawn_at"])
        audit_record(
            actor=acting_user,
            action="enrollment.withdraw",
            obj=locked,
            before={"withdrawn_at": None},
            after={
                "withdrawn_at": locked.withdrawn_at.isoformat(),
                "member_id": locked.member_id,
                "scheme_year": locked.scheme_year.year,
                "union_id": locked.union_id,
            },
            reason=reason,
        )
    enrollment.withdrawn_at = locked.withdrawn_at
