"""Demo step: bind the first demo member's login to an openid of the local fake WeChat and
print the link that opens the member pages "as from WeChat" (when WeChat points at a fake,
as `make demo` sets it up)."""

from __future__ import annotations

from urllib.parse import quote

from huzhu.members.models import Member, phone_q

from .config import wechat_settings
from .models import WeChatBinding
from .services import wechat_bind

DEMO_OPENID = "o_demo_member_0001"
NEW_OPENID = "o_demo_new_follower"
DEMO_PHONE = "13800000001"


def run(*, stdout) -> None:
    config = wechat_settings()
    if not config.enabled:
        return
    member = Member.objects.filter(phone_q(DEMO_PHONE, prefix="user__")).first()
    if member is None:
        stdout.write("微信演示：缺少演示职工登录（先运行线上申请演示），跳过。")
        return
    if not WeChatBinding.objects.filter(openid=DEMO_OPENID).exists():
        wechat_bind(member=member, openid=DEMO_OPENID, source="import")
    if "weixin.qq.com" in config.open_base:
        return  # a real account: no fake to open pages through
    entry = f"{config.base_url}/m/wechat/"
    stdout.write("微信演示（本地模拟微信）：")
    stdout.write(
        f"  以已绑定职工{member.name}的微信打开职工页面："
        f"{config.open_base}/_fake/open?openid={DEMO_OPENID}&next={quote(entry, safe='')}"
    )
    stdout.write(
        f"  以未绑定的新关注者打开（走短信验证码绑定）："
        f"{config.open_base}/_fake/open?openid={NEW_OPENID}&next={quote(entry, safe='')}"
    )
    stdout.write(f"  模拟微信收到的模板消息：{config.open_base}/_fake/")
