"""API keys for machine clients (the bureau's push, hospitals' one-stop) and push idempotency.

A key is identified by its public `key_id` (sent as `X-Huzhu-Key`); its secret signs requests
with HMAC-SHA256, so the server needs it in clear: it is stored encrypted with the field key
(`huzhu.core.crypto`), shown once when the key is created, never again.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiKeyKind(models.TextChoices):
    SOURCE = "source", _("数据来源（医保局推送）")
    HOSPITAL = "hospital", _("医院（一站式结算）")


class ApiKey(models.Model):
    key_id = models.CharField(_("密钥编号"), max_length=40, unique=True)
    kind = models.CharField(_("类型"), max_length=16, choices=ApiKeyKind.choices)
    # The owner: a data source name ("shengzhou-ybj") or a hospital code ("H33068301").
    owner_code = models.CharField(_("所属"), max_length=64)
    owner_name = models.CharField(_("名称"), max_length=128, blank=True)
    secret_encrypted = models.TextField()
    is_active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "owner_code", "-created_at"]
        verbose_name = _("接口密钥")
        verbose_name_plural = _("接口密钥")
        indexes = [models.Index(fields=["kind", "owner_code"])]

    def __str__(self) -> str:
        return f"{self.key_id}（{self.get_kind_display()} {self.owner_code}）"


class PushRequest(models.Model):
    """One accepted push batch: its body's hash and the answer given, for idempotency.

    The same `batch_id` from the same owner with the same body gets the stored answer again;
    with another body it is refused (409).
    """

    kind = models.CharField(max_length=16, choices=ApiKeyKind.choices)
    owner_code = models.CharField(max_length=64)
    batch_id = models.CharField(max_length=128)
    body_sha256 = models.CharField(max_length=64)
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="requests")
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField(default=dict)
    settlement_batch = models.ForeignKey(
        "settlements.SettlementBatch",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "owner_code", "batch_id"], name="push_request_once_per_batch"
            )
        ]
