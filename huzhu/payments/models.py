"""Payment batches (代发批次): approved claims paid together through one bank file.

Writes go through `huzhu.payments.services`; reads through `huzhu.payments.selectors`.

Never twice, in the database itself:
- `PaymentRowClaim` links a claim to the batch row that pays it. The link is released when
  its batch is cancelled or the bank refused the row, never when it paid. The partial
  unique constraint `payment_claim_one_live_link` allows one unreleased link per claim: a
  claim is in at most one open batch, and once paid it can never enter another.
- `PaymentRowAdjustment` does the same for adjustment items (a recovery netted from a row,
  a top-up paid with it): one pending link per item at a time.
- `PaymentReturn` keeps each return file applied; one applied return per batch.
Services also lock the claims (and adjustment items) they put into a batch with
SELECT ... FOR UPDATE, in id order, so concurrent batch creations wait for each other.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from huzhu.claims.models import PayeeKind
from huzhu.core.crypto import decrypt_text
from huzhu.core.masking import mask_account


class BatchState(models.TextChoices):
    OPEN = "open", _("待发送")
    SENT = "sent", _("已发送银行")
    SETTLED = "settled", _("已回盘")
    CANCELLED = "cancelled", _("已撤销")


class PaymentBatch(models.Model):
    number = models.CharField(_("批次号"), max_length=32, unique=True)
    payee_kind = models.CharField(_("收款方"), max_length=16, choices=PayeeKind.choices)
    filters = models.JSONField(_("筛选条件"), default=dict, blank=True)
    state = models.CharField(
        _("状态"), max_length=16, choices=BatchState.choices, default=BatchState.OPEN
    )
    row_count = models.PositiveIntegerField(_("笔数"), default=0)
    claim_count = models.PositiveIntegerField(_("申请数"), default=0)
    gross_fen = models.BigIntegerField(_("应付合计（分）"), default=0)
    netted_fen = models.BigIntegerField(_("抵扣追回款（分）"), default=0)
    total_fen = models.BigIntegerField(_("实付合计（分）"), default=0)
    left_out_count = models.PositiveIntegerField(_("未纳入笔数"), default=0)

    # The last exported file (format and SHA-256); the checksum is also in the audit trail.
    file_format = models.CharField(_("文件格式"), max_length=8, blank=True)
    file_checksum = models.CharField(_("文件校验值"), max_length=64, blank=True)
    exported_at = models.DateTimeField(_("导出时间"), null=True, blank=True)

    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    settled_at = models.DateTimeField(_("回盘时间"), null=True, blank=True)
    paid_on = models.DateField(_("发放日期"), null=True, blank=True)
    success_count = models.PositiveIntegerField(_("成功笔数"), default=0)
    success_fen = models.BigIntegerField(_("成功金额（分）"), default=0)
    failed_count = models.PositiveIntegerField(_("失败笔数"), default=0)
    failed_fen = models.BigIntegerField(_("失败金额（分）"), default=0)
    cancelled_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    cancel_reason = models.TextField(_("撤销原因"), blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("代发批次")
        verbose_name_plural = _("代发批次")
        constraints = [
            models.CheckConstraint(
                condition=Q(total_fen=F("gross_fen") - F("netted_fen")) & Q(netted_fen__gte=0),
                name="payment_batch_total_is_gross_minus_netted",
            ),
        ]
        indexes = [models.Index(fields=["state", "created_at"])]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.state == BatchState.OPEN


class RowResult(models.TextChoices):
    PENDING = "pending", _("待回盘")
    SUCCESS = "success", _("成功")
    FAILED = "failed", _("失败")
    OFFSET = "offset", _("全额抵扣")  # net 0.00 after recoveries: not sent to the bank
    CANCELLED = "cancelled", _("已撤销")


class PaymentRow(models.Model):
    """One payee of a batch: one bank transfer (序号 `seq`)."""

    batch = models.ForeignKey(PaymentBatch, on_delete=models.PROTECT, related_name="rows")
    seq = models.PositiveIntegerField(_("序号"))  # 1..N among the rows sent to the bank
    member = models.ForeignKey(
        "members.Member", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    hospital_code = models.CharField(_("医院代码"), max_length=32, blank=True)
    name = models.CharField(_("户名"), max_length=128)
    bank_name = models.CharField(_("开户行"), max_length=128)
    # The payee's account as it was when the batch was made: encrypted (HUZHU_FIELD_KEY).
    account_encrypted = models.TextField()
    account_last4 = models.CharField(max_length=4)
    gross_fen = models.BigIntegerField(_("应付（分）"))
    netted_fen = models.BigIntegerField(_("抵扣追回款（分）"), default=0)
    amount_fen = models.BigIntegerField(_("实付金额（分）"))
    claim_numbers = models.TextField(_("申请编号"))  # "HZ2026-000001,HZ2026-000002"
    memo = models.CharField(_("用途/附言"), max_length=200)
    result = models.CharField(
        _("处理结果"), max_length=16, choices=RowResult.choices, default=RowResult.PENDING
    )
    failure_reason = models.TextField(_("失败原因"), blank=True)
    result_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["batch", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "seq"], name="payment_row_seq_unique"),
            models.UniqueConstraint(
                fields=["batch", "member"],
                condition=Q(member__isnull=False),
                name="payment_row_one_per_member",
            ),
            models.UniqueConstraint(
                fields=["batch", "hospital_code"],
                condition=~Q(hospital_code=""),
                name="payment_row_one_per_hospital",
            ),
            models.CheckConstraint(
                condition=Q(amount_fen=F("gross_fen") - F("netted_fen"))
                & Q(amount_fen__gte=0)
                & Q(netted_fen__gte=0),
                name="payment_row_amount_is_gross_minus_netted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch.number}#{self.seq}"

    @property
    def account(self) -> str:
        """The clear account: for the bank file only (an export, audited by the service)."""
        return decrypt_text(self.account_encrypted)

    @property
    def account_masked(self) -> str:
        return mask_account(self.account_last4)

    @property
    def claim_number_list(self) -> list[str]:
        return [n for n in self.claim_numbers.split(",") if n]


class LinkState(models.TextChoices):
    PENDING = "pending", _("待回盘")
    PAID = "paid", _("已发放")
    FAILED = "failed", _("发放失败")
    CANCELLED = "cancelled", _("已撤销")


class PaymentRowClaim(models.Model):
    """A claim paid by a batch row.

    The link holds its claim until it is `released`: when its batch is cancelled or the bank
    refused its row. A paid claim's link is never released, so the claim can never enter
    another batch; settling a batch writes nothing here (its rows say success or failure).
    """

    batch = models.ForeignKey(PaymentBatch, on_delete=models.PROTECT, related_name="claim_links")
    row = models.ForeignKey(PaymentRow, on_delete=models.PROTECT, related_name="claim_links")
    claim = models.ForeignKey(
        "claims.Claim", on_delete=models.PROTECT, related_name="payment_links"
    )
    amount_fen = models.BigIntegerField()
    released = models.BooleanField(default=False)

    class Meta:
        constraints = [
            # A claim is in at most one open batch and is paid at most once.
            models.UniqueConstraint(
                fields=["claim"],
                condition=Q(released=False),
                name="payment_claim_one_live_link",
            ),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="payment_claim_positive"),
        ]


class PaymentRowAdjustment(models.Model):
    """An adjustment item settled by a batch row: a recovery netted from it (partly if need
    be), or a top-up paid with it. `amount_fen` is the part of the item this row settles."""

    batch = models.ForeignKey(
        PaymentBatch, on_delete=models.PROTECT, related_name="adjustment_links"
    )
    row = models.ForeignKey(PaymentRow, on_delete=models.PROTECT, related_name="adjustment_links")
    adjustment = models.ForeignKey(
        "claims.AdjustmentItem", on_delete=models.PROTECT, related_name="payment_links"
    )
    kind = models.CharField(max_length=16)  # AdjustmentKind value, copied for reports
    amount_fen = models.BigIntegerField()
    state = models.CharField(max_length=16, choices=LinkState.choices, default=LinkState.PENDING)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["adjustment"],
                condition=Q(state="pending"),
                name="payment_adjustment_one_pending_link",
            ),
            models.CheckConstraint(
                condition=Q(amount_fen__gt=0), name="payment_adjustment_positive"
            ),
        ]


class PaymentLeftOut(models.Model):
    """A payee that qualified for the batch but was left out, with the reason (the claims
    stay in the queue)."""

    batch = models.ForeignKey(PaymentBatch, on_delete=models.PROTECT, related_name="left_out")
    member = models.ForeignKey(
        "members.Member", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    hospital_code = models.CharField(max_length=32, blank=True)
    name = models.CharField(max_length=128)
    claim_numbers = models.TextField()
    amount_fen = models.BigIntegerField()
    code = models.CharField(max_length=32)
    reason = models.TextField()

    class Meta:
        ordering = ["batch", "id"]


class PaymentReturn(models.Model):
    """One return file applied to a batch (its checksum makes a second import a no-op)."""

    batch = models.ForeignKey(PaymentBatch, on_delete=models.PROTECT, related_name="returns")
    file_name = models.CharField(max_length=255)
    checksum = models.CharField(max_length=64)
    layout = models.CharField(max_length=32)
    success_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    paid_on = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch"], name="payment_return_one_per_batch"),
        ]
