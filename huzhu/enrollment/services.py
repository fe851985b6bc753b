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
from .selectors import enrollment_cover_begun, enrollment_coverage_start

__all__ = [
    "EnrollmentImportResult",
    "ImportPreviewRow",
    "RowProblem",
    "TabularError",
    "enrollment_import",
    "enrollment_withdraw",
]


def enrollment_withdraw(*, enrollment, acting_user, reason: str, today=None) -> None:
    """Withdraw an enrollment (退保) while no cover has begun; audited.

    Cover begins on the enrollment's coverage start (the year's start for a renewal, the
    enrollment date + waiting period for a new one; `selectors.enrollment_coverage_start`).
    An enrollment whose cover would only start after its year has ended never gives cover
    and can always be withdrawn. The fee statement counts active enrollments only, so it
    follows. Raises ValidationError (code `already_withdrawn`, `cover_started` or
    `reason_required`)
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
        if enrollment_cover_begun(locked, today=today):
            raise ValidationError(
                f"该职工{locked.scheme_year.year}年度的保障已于"
                f"{enrollment_coverage_start(locked):%Y-%m-%d}开始，"
                "保障开始后不能退保",
                code="cover_started",
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
