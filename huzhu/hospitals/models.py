"""Hospitals (the one-stop settlement's payees) and the one-stop requests they sent.

A hospital's bank account is encrypted at rest like a member's (`huzhu.core.crypto`); the
payments module reads `code`, `name`, `bank_name` and the `bank_account` attribute
(`huzhu.payments.selectors.hospital_payees`).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from huzhu.core.crypto import decrypt_text, encrypt_text
from huzhu.core.masking import mask_account


class Hospital(models.Model):
    code = models.CharField(_("医院代码"), max_length=32, unique=True)
    name = models.CharField(_("医院名称"), max_length=128)
    level = models.CharField(_("医院等级"), max_length=32, blank=True)
    bank_name = models.CharField(_("开户银行"), max_length=128, blank=True)
    bank_account_encrypted = models.TextField(blank=True)
    bank_account_last4 = models.CharField(max_length=4, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("医院")
        verbose_name_plural = _("医院")

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def bank_account(self) -> str:
        """The clear account number (for the bank file; showing it to a person is audited)."""
        return decrypt_text(self.bank_account_encrypted) if self.bank_account_encrypted else ""

    @bank_account.setter
    def bank_account(self, value: str) -> None:
        value = (value or "").strip()
        self.bank_account_encrypted = encrypt_text(value) if value else ""
        self.bank_account_last4 = value[-4:] if value else ""

    @property
    def bank_account_masked(self) -> str:
        return mask_account(self.bank_account_last4) if self.bank_account_last4 else ""


class OnestopAction(models.TextChoices):
    SETTLE = "settle", _("结算")
    CANCEL = "cancel", _("撤销")


class OnestopRequest(models.Model):
    """One settle or cancel request a hospital sent, keyed by its `request_id`.

    The same request_id with the same body gets `response` again and changes nothing; with
    another body it is refused (409). Stored in the same transaction as the claim it wrote,
    so a request either committed both or neither.
    """

    hospital_code = models.CharField(max_length=32)
    action = models.CharField(max_length=8, choices=OnestopAction.choices)
    request_id = models.CharField(max_length=64)
    body_sha256 = models.CharField(max_length=64)
    settlement_id = models.CharField(max_length=64)
    # The business code of the answer ("settled", "not_enrolled", ...) and the answer itself.
    code = models.CharField(max_length=32)
    response = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["hospital_code", "action", "request_id"], name="onestop_request_once"
            )
        ]
        indexes = [models.Index(fields=["settlement_id", "action"])]

    def __str__(self) -> str:
        return f"{self.hospital_code}/{self.action}/{self.request_id}"
