from django.apps import AppConfig


class WeChatConfig(AppConfig):
    name = "huzhu.wechat"
    label = "wechat"
    verbose_name = "微信公众号"
