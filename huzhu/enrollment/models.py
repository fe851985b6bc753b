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
        # (scheme year, union) with the withdrawal and the fee: the per-union fee positions of
        # a year (dashboards, fee statements, fund report) read this index alone.
        indexes = [
            models.Index(
                fields=["scheme_year", "union", "withdrawn_at", "fee_fen"],
                name="enrollment_year_union_fee",
            )
        ]


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
    # Consent (PIPL art. 29) collected on the paper enrollment forms: the text version the
    # operator attested every member of the file signed (except those whose 同意书 cell says
    # 否, recorded one by one in MemberConsent), who attested it (empty: the command line) and
    # when. Empty version: the run attested nothing.
    consent_text = models.ForeignKey(
        "enrollment.ConsentText",
        verbose_name=_("同意书版本"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    consent_attested_by = models.ForeignKey(
        "organizations.User",
        verbose_name=_("同意书确认人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    consent_attested_at = models.DateTimeField(_("同意书确认时间"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class ConsentText(models.Model):
    """One version of the consent text (个人信息处理同意书; PIPL art. 29 separate consent):
    what is processed, by whom, why and for how long. Versions are never edited: a change is
    a new version (`huzhu.enrollment.consent.consent_text_publish`); the newest is current."""

    version = models.PositiveIntegerField(_("版本"), unique=True)
    title = models.CharField(_("标题"), max_length=128, default="个人信息处理同意书")
    body = models.TextField(_("正文"))
    published_at = models.DateTimeField(_("发布时间"))
    published_by = models.ForeignKey(
        "organizations.User",
        verbose_name=_("发布人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-version"]
        verbose_name = _("同意书版本")
        verbose_name_plural = _("同意书版本")

    def __str__(self) -> str:
        return f"{self.title}（第{self.version}版）"


class ConsentStatus(models.TextChoices):
    GIVEN = "given", _("已同意")
    REFUSED = "refused", _("未同意")  # the enrollment form's 同意书 said no
    WITHDRAWN = "withdrawn", _("已撤回")  # the member withdrew (or declined) on /m/


class ConsentSource(models.TextChoices):
    ENROLLMENT = "enrollment", _("参保登记（纸质同意书）")
    MEMBER = "member", _("职工本人（线上）")


class MemberConsent(models.Model):
    """A member's consent decision where it is not simply their enrollment import's
    attestation: a refusal on the enrollment form, the member's own answer on /m/ (accepted
    or withdrawn), and a later form that reversed a refusal. One row per member; every change
    is an audit event. A refusal or withdrawal keeps the member's bureau records for a
    reviewer: they are never paid automatically."""

    member = models.OneToOneField(
        "members.Member", on_delete=models.PROTECT, related_name="consent_record"
    )
    status = models.CharField(_("同意状态"), max_length=16, choices=ConsentStatus.choices)
    source = models.CharField(_("来源"), max_length=16, choices=ConsentSource.choices)
    text = models.ForeignKey(
        ConsentText, verbose_name=_("同意书版本"), null=True, on_delete=models.PROTECT
    )
    attested_by = models.ForeignKey(
        "organizations.User",
        verbose_name=_("确认人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    enrollment_import = models.ForeignKey(
        EnrollmentImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(_("记录时间"))
    # The newest text version the member answered on /m/ (0: never); a newer one asks again.
    member_answered_version = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("职工同意记录")
        verbose_name_plural = _("职工同意记录")
        indexes = [
            # The settlement import and the one-stop look for the members who withheld it.
            models.Index(
                fields=["status"],
                name="consent_withheld",
                condition=~models.Q(status="given"),
            )
        ]


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
