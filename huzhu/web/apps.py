from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "huzhu.web"
    label = "web"

    def ready(self):
        from .member import wechat_views  # noqa: F401 - connects the WeChat login receiver
