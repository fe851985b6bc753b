"""Settlement records from the medical-insurance bureau (医保结算记录) and their import batches.

One `SettlementRecord` per stay, unique on `settlement_id` (domain.md: the same stay has the
same id from every channel: bureau file, push API, one-stop cashier). Rows that could not be
read are kept as `SettlementRowProblem` (row number, field, reason) and never become records,
so a corrected file imports them later. Claims created from a record carry its settlement id;
the record names its batch, which is the claims' audit trail (no audit row per created claim).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class BatchState(models.TextChoices):
    PENDING = "pending", _("排队中")
    RUNNING = "running", _("导入中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class BatchChannel(models.TextChoices):
    COMMAND = "command", _("命令行")
    UPLOAD = "upload", _("网页上传")
    PUSH = "push", _("医保局推送")


class RecordStatus(models.TextChoices):
    """domain.md "Outcome of a settlement record" (the inpatient outcome of a stored record).

    `duplicate` and `invalid` rows are not stored as records: duplicates are counted, invalid
    rows are kept as row problems.
    """

    COVERED = "covered", _("可补助")
    NOT_ENROLLED = "not_enrolled", _("未参保")
    WAITING_PERIOD = "waiting_period", _("观察期内")
    OUT_OF_PERIOD = "out_of_period", _("不在方案年度内")
    REVERSAL = "reversal", _("冲正记录")
    REVERSED = "reversed", _("已被冲正")


class SettlementBatch(models.Model):
    """One run of the settlement import: a file (command, upload) or a pushed batch."""

    file_name = models.CharField(_("文件名"), max_length=255)
    checksum = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    source = models.CharField(_("数据来源"), max_length=64, default="bureau")
    channel = models.CharField(
        _("渠道"), max_length=16, choices=BatchChannel.choices, default=BatchChannel.COMMAND
    )
    encoding = models.CharField(_("文件编码"), max_length=16, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("导入人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    state = models.CharField(
        _("状态"), max_length=16, choices=BatchState.choices, default=BatchState.PENDING
    )
    rows_total = models.PositiveIntegerField(_("总行数"), default=0)
    rows_done = models.PositiveIntegerField(_("已处理行数"), default=0)
    # The JSON summary of the run (issue 4): rows, created, approved, for_review, ...
    counts = models.JSONField(_("统计"), default=dict, blank=True)
    error = models.TextField(_("错误"), blank=True)
    # Where an uploaded file waits for the background task (deleted when the task ends).
    upload_path = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("结算导入批次")
        verbose_name_plural = _("结算导入批次")

    def __str__(self) -> str:
        return f"{self.file_name}（{self.get_state_display()}）"

    @property
    def percent(self) -> int:
        if not self.rows_total:
            return 100 if self.state == BatchState.DONE else 0
        return min(100, self.rows_done * 100 // self.rows_total)


class SettlementRecord(models.Model):
    """One settlement record (one hospital stay as the bureau settled it), amounts in fen."""

    # Unique through Meta.constraints: a plain unique index, without the extra
    # pattern-ops ("_like") index Django adds for `unique=True` on PostgreSQL.
    settlement_id = models.CharField(_("结算流水号"), max_length=64)
    batch = models.ForeignKey(
        SettlementBatch,
        on_delete=models.PROTECT,
        related_name="records",
        verbose_name=_("批次"),
        db_index=False,  # (batch, row_number) below serves it
        # No database-level constraint on the three links of this million-row table: PostgreSQL
        # checks each one per row at commit (about as long as the COPY itself). The import
        # writes ids it has just read inside its own transaction, and members, scheme years
        # and batches are never deleted (PROTECT elsewhere), so the check adds nothing.
        db_constraint=False,
    )
    row_number = models.PositiveIntegerField(_("行号"))
    # The ID number as the bureau sent it (normalised when valid): never in clear. Its blind
    # index (huzhu.core.crypto; no database index: nothing looks records up by it yet), its
    # masked form, and its ciphertext only when no member is linked (a linked member holds
    # the same number).
    id_number_hash = models.CharField(max_length=32)
    id_number_masked = models.CharField(_("身份证号"), max_length=18)
    id_number_encrypted = models.TextField(blank=True)
    member = models.ForeignKey(
        "members.Member",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="settlement_records",
        # No index: nothing looks records up by member (a member's stays are their claims),
        # and a million-row import would pay for one at random places on every row.
        db_index=False,
        db_constraint=False,
    )
    scheme_year = models.ForeignKey(
        "enrollment.SchemeYear",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="settlement_records",
        db_index=False,
        db_constraint=False,
    )
    name = models.CharField(_("姓名"), max_length=64, blank=True)
    hospital = models.CharField(_("医院"), max_length=128, blank=True)
    hospital_code = models.CharField(_("医院代码"), max_length=32, blank=True)
    hospital_level = models.CharField(_("医院等级"), max_length=16, blank=True)
    # Empty only on a reversal whose dates could not be read (a stay always has both).
    admit_date = models.DateField(_("入院日期"), null=True, blank=True)
    discharge_date = models.DateField(_("出院日期"), null=True, blank=True)
    total_cost_fen = models.BigIntegerField(_("医疗总费用（分）"), null=True, blank=True)
    fund_paid_fen = models.BigIntegerField(_("统筹基金支付（分）"), null=True, blank=True)
    self_pay_in_policy_fen = models.BigIntegerField(
        _("政策范围内个人负担（分）"), null=True, blank=True
    )
    self_pay_out_policy_fen = models.BigIntegerField(
        _("政策范围外自费（分）"), null=True, blank=True
    )
    diagnosis_code = models.CharField(_("诊断编码"), max_length=32, blank=True)
    out_of_area = models.BooleanField(_("异地就医"), default=False)
    visit_id = models.CharField(_("就诊编号"), max_length=64, blank=True)
    # Reversal links: a reversal names the record it cancels (`reverses`); the cancelled
    # record names its reversal (`reversed_by`). Nothing is deleted.
    is_reversal = models.BooleanField(_("冲正记录"), default=False)
    reverses = models.CharField(_("冲正的结算流水号"), max_length=64, blank=True)
    reversed_by = models.CharField(_("被冲正记录的流水号"), max_length=64, blank=True)
    # A reversal whose record is not known yet: matched when that record arrives.
    reversal_pending = models.BooleanField(_("冲正待匹配"), default=False)
    status = models.CharField(_("结果"), max_length=16, choices=RecordStatus.choices)
    reason = models.TextField(_("说明"), blank=True)
    # Doubtful records (amounts do not add up, a stay over 365 days, an unmatched reversal…):
    # the claim went to a reviewer, or (no claim) the record itself waits for one.
    review_reason = models.TextField(_("待复核原因"), blank=True)
    plan_version_number = models.PositiveIntegerField(_("方案版本"), null=True, blank=True)
    created_at = models.DateTimeField(_("导入时间"))

    class Meta:
        ordering = ["batch_id", "row_number"]
        verbose_name = _("结算记录")
        verbose_name_plural = _("结算记录")
        constraints = [
            models.UniqueConstraint(fields=["settlement_id"], name="settlement_record_unique_id")
        ]
        indexes = [
            # Only records that have a visit id (national-format files): reversals are matched
            # by visit only when they carry one, and our own format has none.
            models.Index(
                fields=["visit_id"], name="settlement_record_visit_set", condition=~Q(visit_id="")
            ),
            models.Index(fields=["batch", "row_number"]),
            models.Index(
                fields=["reversal_pending"],
                condition=Q(reversal_pending=True),
                name="settlement_pending_reversal",
            ),
        ]

    def __str__(self) -> str:
        return self.settlement_id


class SettlementRowProblem(models.Model):
    """A row that could not be imported: its row number, the field at fault, the reason."""

    batch = models.ForeignKey(SettlementBatch, on_delete=models.CASCADE, related_name="problems")
    row_number = models.PositiveIntegerField(_("行号"))
    settlement_id = models.CharField(_("结算流水号"), max_length=64, blank=True)
    field = models.CharField(_("字段"), max_length=64, blank=True)
    code = models.CharField(_("错误代码"), max_length=64)
    reason = models.TextField(_("原因"))

    class Meta:
        ordering = ["batch_id", "row_number", "id"]
        verbose_name = _("问题行")
        verbose_name_plural = _("问题行")
