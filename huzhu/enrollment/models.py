"""Scheme years and enrollments. Renewal and coverage start are derived, never typed."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SchemeYear(models.Model):
    year = models.PositiveIntegerField(_("年度"), unique=True)
    start = models.DateField(_("开始日期"))
    end = models.DateField(_("结束日期"))
    fee_per_member_fen = models.PositiveIntegerField(_("每人会费（分）"))
    waiting_period_days = models.PositiveIntegerField(_("观察期（天）"), default=0)
    claim_window_days = models.PositiveIntegerField(_("申请时限（天）"), default=365)
    name = models.CharField(_("名称"), max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-year"]
        verbose_name = _("互助年度")
        verbose_name_plural = _("互助年度")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")), name="scheme_year_end_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.name or f"{self.year}年度"


class Enrollment(models.Model):
    """A member covered in a scheme year through one union (参保)."""

    # No database-level FK constraints on this table's links. PostgreSQL checks each one
    # per inserted row (a deferred trigger query apiece): for a 100,000-row enrollment
    # import that was ~0.7-1 s of server time per link, i.e. most of the write. The import
    # (the only bulk writer) writes ids it has just read or inserted in its own transaction;
    # members, scheme years, unions and batches are never deleted (PROTECT / SET_NULL are
    # enforced by Django's collector, which does not need the constraint).
    member = models.ForeignKey(
        "members.Member",
        on_delete=models.PROTECT,
        related_name="enrollments",
        db_constraint=False,
    )
    scheme_year = models.ForeignKey(
        SchemeYear,
        on_delete=models.PROTECT,
        related_name="enrollments",
        db_index=False,  # the (scheme_year, union) index serves it
        db_constraint=False,
    )
    union = models.ForeignKey(
        "organizations.Union",
        on_delete=models.PROTECT,
        related_name="enrollments",
        db_index=False,  # queries by union go with a year: the (scheme_year, union) index
        db_constraint=False,
    )
    enrolled_on = models.DateField(_("参保日期"))
    fee_fen = models.PositiveIntegerField(_("会费（分）"))
    withdrawn_at = models.DateTimeField(_("退保时间"), null=True, blank=True)
    import_batch = models.ForeignKey(
        "enrollment.EnrollmentImport",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="enrollments",
        db_index=False,  # nothing looks enrollments up by batch often enough to pay for it
        db_constraint=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("参保记录")
        verbose_name_plural = _("参保记录")
        constraints = [
            # One member, one union per year (a withdrawn enrollment no longer counts).
            models.UniqueConstraint(
                fields=["member", "scheme_year"],
                condition=models.Q(withdrawn_at__isnull=True),
                name="enrollment_one_per_member_year",
            )
        ]
        indexes = [models.Index(fields=["scheme_year", "union"])]


class EnrollmentImport(models.Model):
    """One run of the enrollment import (a batch row; its per-row outcomes are in `report`)."""

    union = models.ForeignKey("organizations.Union", on_delete=models.PROTECT)
    scheme_year = models.ForeignKey(SchemeYear, on_delete=models.PROTECT)
    file_name = models.CharField(max_length=255)
    checksum = models.CharField(max_length=64)
    policy = models.CharField(max_length=16, default="all_or_nothing")
    created_by = models.ForeignKey(
        "organizations.User", null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    summary = models.JSONField(default=dict)
    report = models.JSONField(default=list)

    class Meta:
        ordering = ["-created_at"]


def _voucher_path(instance, filename: str) -> str:
    import uuid

    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"fee-vouchers/{instance.scheme_year.year}/{uuid.uuid4().hex}.{ext}"


def _voucher_storage():
    from huzhu.members.documents import private_storage

    return private_storage


class FeeReceipt(models.Model):
    """Money a union paid toward its fee for a scheme year (会费到账), as finance recorded it.

    A union may pay in parts: each payment is one receipt. What is due comes from the
    enrollments (the fee statement); outstanding = due − the sum of the receipts. Receipts are
    written by `huzhu.enrollment.receipts.fee_receipt_add` (audited) and never edited.
    """

    union = models.ForeignKey(
        "organizations.Union",
        verbose_name=_("缴费工会"),
        on_delete=models.PROTECT,
        related_name="fee_receipts",
        db_index=False,  # (scheme_year, union) serves it
    )
    scheme_year = models.ForeignKey(
        SchemeYear,
        verbose_name=_("年度"),
        on_delete=models.PROTECT,
        related_name="fee_receipts",
        db_index=False,
    )
    received_on = models.DateField(_("到账日期"))
    amount_fen = models.BigIntegerField(_("到账金额（分）"))
    payer_name = models.CharField(_("付款户名"), max_length=128, blank=True)
    note = models.TextField(_("备注"), blank=True)
    # The bank slip or transfer record (image or PDF), checked by content, kept private.
    voucher = models.FileField(
        _("凭证"), upload_to=_voucher_path, storage=_voucher_storage, max_length=200, blank=True
    )
    voucher_content_type = models.CharField(max_length=64, blank=True)
    voucher_name = models.CharField(max_length=255, blank=True)
    voucher_sha256 = models.CharField(max_length=64, blank=True)
    entered_by = models.ForeignKey(
        "organizations.User",
        verbose_name=_("录入人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty when entered by a command.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_on", "id"]
        verbose_name = _("会费到账")
        verbose_name_plural = _("会费到账")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_fen__gt=0), name="fee_receipt_amount_positive"
            )
        ]
        indexes = [
            models.Index(fields=["scheme_year", "union"], name="fee_receipt_year_union"),
            models.Index(fields=["scheme_year", "received_on"], name="fee_receipt_year_day"),
        ]

    def __str__(self) -> str:
        return f"{self.union_id}/{self.scheme_year_id} {self.received_on} {self.amount_fen}"
