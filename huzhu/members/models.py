"""The member registry. ID numbers are the members' identity; bank accounts are encrypted."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from huzhu.core.crypto import decrypt_text, encrypt_text
from huzhu.core.masking import mask_account, mask_id_number


class Sex(models.TextChoices):
    MALE = "male", _("男")
    FEMALE = "female", _("女")


class Member(models.Model):
    id_number = models.CharField(_("身份证号"), max_length=18, unique=True)
    name = models.CharField(_("姓名"), max_length=64)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    sex = models.CharField(_("性别"), max_length=8, choices=Sex.choices)
    birth_date = models.DateField(_("出生日期"))
    bank_name = models.CharField(_("开户银行"), max_length=128, blank=True)
    # Encrypted at rest (Fernet, key HUZHU_FIELD_KEY); the last four digits are kept for masking.
    bank_account_encrypted = models.TextField(blank=True)
    bank_account_last4 = models.CharField(max_length=4, blank=True)
    union = models.ForeignKey(
        "organizations.Union",
        verbose_name=_("所属工会"),
        on_delete=models.PROTECT,
        related_name="members",
    )
    user = models.OneToOneField(
        "organizations.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="member",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("职工")
        verbose_name_plural = _("职工")
        indexes = [models.Index(fields=["union", "name"]), models.Index(fields=["name"])]

    def __str__(self) -> str:
        return f"{self.name}（{self.id_number_masked}）"

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def bank_account(self) -> str:
        """The clear account number. Reading it for a person is an audited reveal."""
        return decrypt_text(self.bank_account_encrypted) if self.bank_account_encrypted else ""

    @bank_account.setter
    def bank_account(self, value: str) -> None:
        value = (value or "").strip()
        self.bank_account_encrypted = encrypt_text(value) if value else ""
        self.bank_account_last4 = value[-4:] if value else ""

    @property
    def bank_account_masked(self) -> str:
        return mask_account(self.bank_account_last4) if self.bank_account_last4 else ""
