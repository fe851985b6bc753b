"""The member registry. ID numbers are the members' identity; ID numbers, phones and bank
accounts are encrypted at rest, ID numbers and phones with a blind index for exact lookups
(huzhu.core.crypto, docs/security.md)."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huzhu.core.crypto import blind_index, decrypt_text, encrypt_text
from huzhu.core.masking import mask_account, mask_phone
from huzhu.core.sealed import SealedQuerySet, sealed_property, sealed_q


def id_number_index(value: str) -> str:
    """The blind index of a normalised ID number under the current key (what is written)."""
    return blind_index("id_number", value)


def phone_index(value: str) -> str:
    """The blind index of a normalised phone under the current key (what is written)."""
    return blind_index("phone", value)


def id_number_q(value: str, prefix: str = "") -> Q:
    """The condition "ID number is `value`" (normalised) on Member, or through a relation
    (`prefix="member__"`): its blind index under any configured key. The one way to look a
    member up by ID number."""
    return sealed_q("id_number", value, prefix)


def phone_q(value: str, prefix: str = "") -> Q:
    """The condition "phone is `value`" (normalised), as `id_number_q`. Also serves the member
    logins (`User.objects.filter(phone_q(p))`, `phone_q(p, prefix="user__")`) and SMS codes,
    which store the phone the same way."""
    return sealed_q("phone", value, prefix)


class MemberQuerySet(SealedQuerySet):
    """Member.objects: `filter(id_number=…)`, `id_number__in=[…]`, `phone=…` (and `get`,
    `exclude`) are answered through the blind indexes, as `id_number_q` / `phone_q`; other
    lookups on those two (ranges, `startswith`…) are refused: the columns hold ciphertext."""

    sealed_fields = ("id_number", "phone")

    def with_id_number(self, value: str) -> "MemberQuerySet":
        return self.filter(id_number_q(value))


class Sex(models.TextChoices):
    MALE = "male", _("男")
    FEMALE = "female", _("女")


class Member(models.Model):
    # The ID number: encrypted (Fernet), its blind index (unique: one member per number) and
    # the masked form lists show (first 6 + last 4), which partial searches use. Read and
    # write `member.id_number` (a property); look up with `id_number_q`.
    id_number_encrypted = models.TextField()
    id_number_hash = models.CharField(max_length=32, unique=True)
    id_number_masked = models.CharField(_("身份证号"), max_length=18)
    name = models.CharField(_("姓名"), max_length=64)
    # The phone, the same way (`member.phone`, `phone_q`); not unique (a family may share
    # one), no index: no page looks members up by phone (logins are Users).
    phone_encrypted = models.TextField(blank=True)
    phone_hash = models.CharField(max_length=32, blank=True)
    phone_masked = models.CharField(_("手机号"), max_length=20, blank=True)
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
        db_index=False,  # the (union, name) index serves it
        # No database-level constraint: an import writes one union id it has just read on
        # every new row, and PostgreSQL would check it per row (~1 s per 100,000 members).
        # Unions are never deleted (PROTECT).
        db_constraint=False,
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

    objects = MemberQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("职工")
        verbose_name_plural = _("职工")
        # No index on name alone: the member search is `name__icontains` (LIKE '%x%'), which
        # no B-tree serves, and every import pays for each index on every new member.
        indexes = [
            models.Index(fields=["union", "name"]),
            # Members without a bank account or bank name (a few percent): the finance and
            # operator dashboards and the enrollment report count them through this small
            # partial index instead of joining every enrollment of the year to its member.
            models.Index(
                fields=["id"],
                name="member_no_card",
                condition=models.Q(bank_account_last4="") | models.Q(bank_name=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.id_number_masked}）"

    id_number = sealed_property(
        "id_number",
        doc="The clear ID number. Showing it to staff is an audited reveal (members.services).",
    )
    phone = sealed_property(
        "phone", doc="The clear phone (members' own pages, notices by SMS; staff see it masked)."
    )

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


class SmsCodeQuerySet(SealedQuerySet):
    sealed_fields = ("phone",)


class SmsCode(models.Model):
    """One SMS login code sent to a phone (huzhu.members.sms). Only the code's hash is
    stored; the phone is encrypted with its blind index, as a member's (`filter(phone=…)`
    is answered through the index)."""

    phone_encrypted = models.TextField(blank=True, default="")
    phone_hash = models.CharField(max_length=32, blank=True, default="")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    consumed_at = models.DateTimeField(null=True, blank=True)
    # The provider's refusal when the code could not be sent (huzhu.members.sms).
    send_error = models.CharField(_("发送错误"), max_length=255, blank=True, default="")

    objects = SmsCodeQuerySet.as_manager()

    phone = sealed_property("phone", masked=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["phone_hash", "created_at"], name="members_sms_phone_hash_at")
        ]

    def __str__(self) -> str:
        return f"{mask_phone(self.phone)} @ {self.created_at:%Y-%m-%d %H:%M:%S}"


class ThrottleEvent(models.Model):
    """One counted try under a login limit (huzhu.members.throttle). `key` is an HMAC of the
    phone, address or pair counted, never the value itself."""

    scope = models.CharField(max_length=32)
    key = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["scope", "key", "at"], name="members_throttle_key_at"),
            models.Index(fields=["scope", "at"], name="members_throttle_scope_at"),
        ]


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", _("发票")
    SETTLEMENT_SHEET = "settlement_sheet", _("结算单")
    DISCHARGE_SUMMARY = "discharge_summary", _("出院小结")
    BANK_CARD = "bank_card", _("银行卡")
    OTHER = "other", _("其他材料")


def _document_path(instance, filename: str) -> str:
    import uuid

    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"{instance.member_id}/{uuid.uuid4().hex}.{ext}"


def _document_storage():
    from .documents import private_storage

    return private_storage


class MemberDocument(models.Model):
    """A file a member (or their union operator) uploaded: claim papers, a bank card photo.

    Checked by content and re-encoded before it is stored (huzhu.members.documents); kept
    outside MEDIA_ROOT and served only through views that check who asks. `claim` is empty
    until the claim it was uploaded for is filed.
    """

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="documents")
    claim = models.ForeignKey(
        "claims.Claim", null=True, blank=True, on_delete=models.PROTECT, related_name="documents"
    )
    kind = models.CharField(_("材料类型"), max_length=24, choices=DocumentKind.choices)
    file = models.FileField(upload_to=_document_path, storage=_document_storage, max_length=200)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(_("原文件名"), max_length=255, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    # What an invoice's QR code said (number, amount_fen, date, raw), when it had one.
    invoice_qr = models.JSONField(default=dict, blank=True)
    uploaded_by = models.ForeignKey(
        "organizations.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["member", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.original_name}"
