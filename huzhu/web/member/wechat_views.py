"""Member pages from inside WeChat: OAuth login (`snsapi_base`), binding, unbinding.

`/m/wechat/?next=/m/…` sends the visitor to WeChat's authorization page with a one-time
`state` kept in the session; `/m/wechat/callback/` checks it, exchanges the code for the
openid and logs in the member bound to it. An unknown openid waits in the session while the
visitor goes through today's login (phone + SMS code, then name + ID number on first login);
when that login succeeds the openid is bound to the member (`bind_pending_openid`).
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_POST

from huzhu.members.accounts import member_login_ensure, member_of_user
from huzhu.organizations.models import Role
from huzhu.wechat.client import WeChatError, oauth_authorize_url, oauth_openid
from huzhu.wechat.config import wechat_settings
from huzhu.wechat.services import WeChatBindError, member_for_openid, wechat_bind, wechat_unbind

from .auth import member_logged_in, member_required

BACKEND = "django.contrib.auth.backends.ModelBackend"
STATE_KEY = "huzhu_wx_state"
NEXT_KEY = "huzhu_wx_next"
PENDING_KEY = "huzhu_wx_openid"
PENDING_TTL_SECONDS = 30 * 60


def wechat_next(raw: str | None) -> str:
    """Only our member pages are valid targets (no other host, no scheme)."""
    raw = raw or ""
    if raw.startswith("/m/") and "//" not in raw and "\\" not in raw:
        return raw
    return "/m/"


def in_wechat(request) -> bool:
    return "MicroMessenger" in request.headers.get("User-Agent", "") and (wechat_settings().enabled)


def wechat_login_url(path: str) -> str:
    return f"/m/wechat/?next={quote(path)}"


def _problem(request, message: str, status: int):
    return render(request, "member/wechat_problem.html", {"message": message}, status=status)


def wechat_entry(request):
    config = wechat_settings()
    if not config.enabled:
        raise Http404
    state = secrets.token_urlsafe(16)
    request.session[STATE_KEY] = state
    request.session[NEXT_KEY] = wechat_next(request.GET.get("next"))
    redirect_uri = request.build_absolute_uri(reverse("member:wechat_callback"))
    return redirect(oauth_authorize_url(redirect_uri=redirect_uri, state=state, config=config))


def wechat_callback(request):
    config = wechat_settings()
    if not config.enabled:
        raise Http404
    expected = request.session.pop(STATE_KEY, None)
    state = request.GET.get("state", "")
    if not expected or not constant_time_compare(state, expected):
        return _problem(request, "链接已失效，请从公众号菜单重新进入。", 400)
    code = request.GET.get("code", "")
    if not code:
        return _problem(request, "未获得微信授权，请从公众号菜单重新进入。", 400)
    try:
        openid = oauth_openid(code, config=config)
    except WeChatError:
        return _problem(request, "微信服务暂时不可用，请稍后再试。", 502)
    target = wechat_next(request.session.pop(NEXT_KEY, "/m/"))
    member = member_for_openid(openid)
    if member is not None:
        user = member_login_ensure(member)
        if user is None:
            return _problem(request, "您的职工账号已停用，请联系所在工会。", 403)
        login(request, user, backend=BACKEND)
        member_logged_in(request, member)
        return redirect(target)
    request.session[PENDING_KEY] = {"openid": openid, "at": int(time.time())}
    current = member_of_user(request.user)
    if current is not None:  # logged in by phone already: bind now
        _bind_pending(request, current)
        return redirect(target)
    messages.info(
        request,
        "首次从微信进入：请用手机号验证码登录并核对身份，完成后将绑定本微信，以后从公众号进入无需再登录。",
    )
    return redirect(f"{reverse('member:login')}?next={quote(target)}")


def _bind_pending(request, member) -> None:
    pending = request.session.pop(PENDING_KEY, None) or {}
    if not pending or time.time() - pending.get("at", 0) > PENDING_TTL_SECONDS:
        return
    try:
        result = wechat_bind(member=member, openid=pending["openid"], acting_user=request.user)
    except WeChatBindError as exc:
        messages.error(request, exc.message)
        return
    if result.replaced_openid:
        messages.info(
            request,
            "已改为绑定当前微信：一名职工只能绑定一个微信，原来绑定的微信已解除，"
            "以后将向当前微信发送通知。",
        )
    elif result.changed:
        messages.success(
            request, "已绑定本微信，以后从公众号进入无需再登录，办理进度将通过微信通知您。"
        )


@receiver(user_logged_in, dispatch_uid="huzhu.wechat.bind_pending_openid")
def bind_pending_openid(sender, request, user, **kwargs):
    """A member who came from WeChat with an unknown openid has just logged in by phone:
    bind that openid to them."""
    if request is None or getattr(user, "role", None) != Role.MEMBER:
        return
    if PENDING_KEY not in request.session:
        return
    member = member_of_user(user)
    if member is not None:
        _bind_pending(request, member)


@require_POST
@member_required
def wechat_unbind_view(request):
    if wechat_unbind(member=request.member, acting_user=request.user):
        messages.success(request, "已解除微信绑定，将不再通过微信向您发送通知（改为短信）。")
    return redirect("member:home")
