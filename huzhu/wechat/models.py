"""WeChat bindings (openid per member), the shared access token, and delivery answers."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class BindingSource(models.TextChoices):
    OAUTH = "oauth", _("网页授权绑定")
    IMPORT = "import", _("批量导入")


class WeChatBinding(models.Model):
    """One openid per member and one member per openid (both unique)."""

    member = models.OneToOneField(
        "members.Member", on_delete=models.CASCADE, related_name="wechat_binding"
    )
    openid = models.CharField(_("openid"), max_length=64, unique=True)
    source = models.CharField(_("来源"), max_length=16, choices=BindingSource.choices)
    bound_at = models.DateTimeField(_("绑定时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("微信绑定")
        verbose_name_plural = _("微信绑定")

    def __str__(self) -> str:
        return f"{self.member_id} ↔ {self.openid[:6]}…"


class AccessToken(models.Model):
    """The account's access token, shared by every process (one row per app id).

    Refreshed under a row lock by whoever finds it about to expire (huzhu/wechat/tokens.py).
    """

    appid = models.CharField(max_length=64, unique=True)
    token = models.TextField(blank=True)  # WeChat asks for at least 512 characters of room
    expires_at = models.DateTimeField(null=True, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)


class DeliveryChannel(models.TextChoices):
    WECHAT = "wechat", _("微信模板消息")
    SMS = "sms", _("短信")


class DeliveryAnswer(models.Model):
    """What WeChat or the SMS provider answered for one try of one notification."""

    notification = models.ForeignKey(
        "claims.Notification", on_delete=models.CASCADE, related_name="delivery_answers"
    )
    channel = models.CharField(_("渠道"), max_length=16, choices=DeliveryChannel.choices)
    ok = models.BooleanField(_("成功"))
    code = models.CharField(_("返回码"), max_length=64, blank=True)
    answer = models.TextField(_("返回内容"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("发送记录")
        verbose_name_plural = _("发送记录")
