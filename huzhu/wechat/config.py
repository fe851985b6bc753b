"""The official account's settings (`HUZHU_WECHAT` in settings.py, from the environment)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

# The six kinds of template message (one template id each: HUZHU_WECHAT_TEMPLATE_<KIND>).
TEMPLATE_KINDS = ("auto_claim", "approved", "returned", "paid", "payment_failed", "adjustment")


@dataclass(frozen=True)
class WeChatSettings:
    appid: str = ""
    secret: str = ""
    token: str = ""
    aes_key: str = ""
    api_base: str = "https://api.weixin.qq.com"
    open_base: str = "https://open.weixin.qq.com"
    templates: dict[str, str] = field(default_factory=dict)
    base_url: str = "http://127.0.0.1:8000"

    @property
    def enabled(self) -> bool:
        return bool(self.appid)


def wechat_settings() -> WeChatSettings:
    raw = getattr(settings, "HUZHU_WECHAT", {}) or {}
    return WeChatSettings(
        appid=raw.get("APPID", ""),
        secret=raw.get("SECRET", ""),
        token=raw.get("TOKEN", ""),
        aes_key=raw.get("AES_KEY", ""),
        api_base=(raw.get("API_BASE") or "https://api.weixin.qq.com").rstrip("/"),
        open_base=(raw.get("OPEN_BASE") or "https://open.weixin.qq.com").rstrip("/"),
        templates=dict(raw.get("TEMPLATES") or {}),
        base_url=getattr(settings, "HUZHU_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
    )


def wechat_enabled() -> bool:
    return wechat_settings().enabled
