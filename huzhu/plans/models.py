"""Plan versions: the plan file of a scheme year, stored as loaded, never changed."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PlanVersion(models.Model):
    """One version of a scheme year's plan file (互助方案).

    Rows are immutable: a corrected file is a new version; results record the version
    they were computed under.
    """

    scheme_year = models.ForeignKey(
        "enrollment.SchemeYear", on_delete=models.PROTECT, related_name="plan_versions"
    )
    version = models.PositiveIntegerField(_("版本"))
    content_hash = models.CharField(_("内容摘要（SHA-256）"), max_length=64)
    source_text = models.TextField(_("方案文件（YAML）"))
    source_name = models.CharField(_("文件名"), max_length=255, blank=True)
    loaded_at = models.DateTimeField(_("加载时间"), auto_now_add=True)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("加载人"),
    )

    class Meta:
        ordering = ["scheme_year", "-version"]
        verbose_name = _("互助方案版本")
        verbose_name_plural = _("互助方案版本")
        constraints = [
            models.UniqueConstraint(
                fields=["scheme_year", "version"], name="plan_version_unique_number"
            ),
            models.UniqueConstraint(
                fields=["scheme_year", "content_hash"], name="plan_version_unique_content"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scheme_year} 方案第{self.version}版"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("plan versions are immutable: load a new version instead")
        super().save(*args, **kwargs)

    def plan(self):
        """The frozen Plan of this version."""
        from .selectors import plan_from_version

        return plan_from_version(self)
