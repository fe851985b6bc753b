"""The union tree and the staff accounts that work in it."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from huzhu.core.sealed import SealedQuerySet, sealed_property


class UnionKind(models.TextChoices):
    FEDERATION = "federation", _("总工会")
    INDUSTRY = "industry", _("产业工会")
    TOWNSHIP = "township", _("乡镇(街道)工会")
    WORKPLACE = "workplace", _("基层工会")


class Union(models.Model):
    """A node of the union tree: the federation at the root, workplace unions at the leaves."""

    code = models.CharField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=128)
    kind = models.CharField(_("类型"), max_length=16, choices=UnionKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级工会"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    contact = models.CharField(_("联系人"), max_length=64, blank=True)
    phone = models.CharField(_("电话"), max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("工会")
        verbose_name_plural = _("工会")

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class Role(models.TextChoices):
    MEMBER = "member", _("职工")
    UNION_OPERATOR = "union_operator", _("基层工会经办人")
    FEDERATION_REVIEWER = "federation_reviewer", _("市总审核员")
    FEDERATION_FINANCE = "federation_finance", _("市总财务")
    PORTAL_EDITOR = "portal_editor", _("网站编辑")
    PORTAL_CHIEF_EDITOR = "portal_chief_editor", _("责任编辑")
    ADMIN = "admin", _("系统管理员")
    # Reads the audit trail and nothing else (等保: a separate audit administrator).
    AUDITOR = "auditor", _("审计员")


FEDERATION_ROLES = frozenset({Role.FEDERATION_REVIEWER, Role.FEDERATION_FINANCE, Role.ADMIN})


class UserQuerySet(SealedQuerySet):
    sealed_fields = ("phone",)


class LoginManager(UserManager.from_queryset(UserQuerySet)):
    """Django's UserManager; `filter(phone=…)` is answered through the phone's blind index."""


class User(AbstractUser):
    """A login. Staff accounts belong to one union with one role; members log in by phone.

    A member login's phone is stored as a member's is (huzhu.core.sealed): encrypted, its
    blind index (`phone_hash`, what login and binding look up) and masked; its user name
    (`m` + random hex) says nothing about the phone.
    """

    role = models.CharField(_("角色"), max_length=32, choices=Role.choices, default=Role.MEMBER)
    union = models.ForeignKey(
        Union,
        verbose_name=_("所属工会"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )
    phone_encrypted = models.TextField(blank=True, default="")
    phone_hash = models.CharField(max_length=32, blank=True, default="", db_index=True)
    phone_masked = models.CharField(_("手机号"), max_length=20, blank=True, default="")

    objects = LoginManager()

    phone = sealed_property("phone", doc="The login's clear phone (the SMS login's number).")

    @property
    def is_federation_staff(self) -> bool:
        return self.role in FEDERATION_ROLES or self.is_superuser
