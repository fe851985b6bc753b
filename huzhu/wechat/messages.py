"""Server messages (/wechat/): what the account answers a follower (passive replies).

- follow (`subscribe`): a welcome with the link to the member pages (through OAuth);
- text 进度 or 查询, or the menu's `progress` click, from a bound member: their latest
  claims with status (and amount once known); from someone not bound: how to bind;
- anything else: the menu text.
"""

from __future__ import annotations

import time
from xml.sax.saxutils import escape

from defusedxml import ElementTree

from huzhu.claims.models import Claim
from huzhu.core.money import format_fen

from .config import WeChatSettings
from .services import member_for_openid

PROGRESS_WORDS = frozenset({"进度", "查询"})
PROGRESS_KEY = "progress"
LATEST_CLAIMS = 3


class BadMessage(ValueError):
    pass


def message_parse(xml: bytes | str) -> dict[str, str]:
    """The message's top-level fields (`ToUserName`, `FromUserName`, `MsgType`, …)."""
    try:
        root = ElementTree.fromstring(xml)
    except Exception as exc:  # defusedxml refusals and parse errors alike
        raise BadMessage(f"not a WeChat message: {type(exc).__name__}") from None
    if root.tag != "xml":
        raise BadMessage("root element is not <xml>")
    return {child.tag: (child.text or "").strip() for child in root}


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply_xml(*, to: str, sender: str, content: str, now: int | None = None) -> str:
    return (
        f"<xml><ToUserName>{_cdata(to)}</ToUserName><FromUserName>{_cdata(sender)}</FromUserName>"
        f"<CreateTime>{now or int(time.time())}</CreateTime><MsgType>{_cdata('text')}</MsgType>"
        f"<Content>{_cdata(content)}</Content></xml>"
    )


def encrypted_reply_xml(*, encrypt: str, signature: str, timestamp: str, nonce: str) -> str:
    return (
        f"<xml><Encrypt>{_cdata(encrypt)}</Encrypt><MsgSignature>{_cdata(signature)}"
        f"</MsgSignature><TimeStamp>{escape(timestamp)}</TimeStamp><Nonce>{_cdata(nonce)}</Nonce></xml>"
    )


def _entry(config: WeChatSettings, path: str = "/m/") -> str:
    return f"{config.base_url}/m/wechat/?next={path}"


def welcome_text(config: WeChatSettings) -> str:
    return (
        "欢迎关注嵊州市总工会！职工医疗互助：住院后符合条件的由系统自动受理，无需申请；"
        f"也可在线申请、查询进度。\n进入职工服务：{_entry(config)}\n回复“进度”查看您的申请进度。"
    )


def menu_text(config: WeChatSettings) -> str:
    return (
        "您好！回复“进度”或“查询”查看您的互助申请进度。\n"
        f"在线申请：{_entry(config, '/m/claims/new/')}\n"
        f"我的进度：{_entry(config, '/m/claims/')}\n"
        f"办事指南：{config.base_url}/bszn/"
    )


def progress_text(openid: str, config: WeChatSettings) -> str:
    member = member_for_openid(openid)
    if member is None:
        return (
            "您还没有绑定职工身份。请点击进入并用手机号验证、核对身份，绑定后即可查询进度：\n"
            + _entry(config, "/m/claims/")
        )
    claims = list(
        Claim.objects.filter(member=member)
        .exclude(status="draft")
        .order_by("-created_at", "-id")[:LATEST_CLAIMS]
    )
    if not claims:
        return "您目前没有互助申请记录。住院后符合条件的将自动受理，也可在线申请：\n" + _entry(
            config, "/m/claims/new/"
        )
    lines = [f"{member.name}，您最近的申请："]
    for claim in claims:
        line = f"{claim.number} {claim.benefit_name or claim.benefit_code}：{claim.get_status_display()}"
        if claim.amount_fen is not None and claim.status in ("approved", "paid"):
            line += f"，{format_fen(claim.amount_fen)}元"
        lines.append(line)
    lines.append("详情：" + _entry(config, "/m/claims/"))
    return "\n".join(lines)


def reply_for(message: dict[str, str], config: WeChatSettings) -> str:
    """The text to answer with, or "" for no reply (WeChat then expects "success")."""
    kind = message.get("MsgType", "")
    openid = message.get("FromUserName", "")
    if kind == "event":
        event = message.get("Event", "").lower()
        if event == "subscribe":
            return welcome_text(config)
        if event == "click" and message.get("EventKey") == PROGRESS_KEY:
            return progress_text(openid, config)
        return ""  # unsubscribe, view, location…: nothing to say
    if kind == "text" and message.get("Content", "").strip() in PROGRESS_WORDS:
        return progress_text(openid, config)
    return menu_text(config)


def account_menu(config: WeChatSettings) -> dict:
    """The account menu `huzhu wechat-menu push` sets: 在线申请 · 我的进度 · 办事指南."""
    return {
        "button": [
            {"type": "view", "name": "在线申请", "url": _entry(config, "/m/claims/new/")},
            {"type": "view", "name": "我的进度", "url": _entry(config, "/m/claims/")},
            {"type": "view", "name": "办事指南", "url": f"{config.base_url}/bszn/"},
        ]
    }
