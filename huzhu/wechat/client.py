"""A thin client over the few WeChat official-account endpoints Huzhu uses.

Why not wechatpy: its last release (1.8.18, 2021) imports on Python 3.11, but it fetches
tokens from the old `/cgi-bin/token` at a hard-coded address (no `stable_token`, no
`HUZHU_WECHAT_API_BASE` for the local fake), and keeps them in memory/Redis/memcache only.
The six calls below are a page of code (docs/wechat.md).

Endpoints (relative to `HUZHU_WECHAT_API_BASE`):
- `POST /cgi-bin/stable_token` — the access token (huzhu/wechat/tokens.py caches it);
- `GET /sns/oauth2/access_token` — web-page authorization code → openid;
- `POST /cgi-bin/message/template/send` — a template message;
- `POST /cgi-bin/menu/create` — the account menu.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

import requests

from .config import WeChatSettings, wechat_settings

log = logging.getLogger(__name__)

TIMEOUT = (3.05, 10)
# The access token is invalid or expired: refresh it and try once more.
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
# WeChat will not deliver to this member (not following, refused messages, bad openid):
# another channel (SMS) has to carry the news.
REFUSED_ERRORS = frozenset({43004, 43101, 40003, 43019})
# Worth trying again later: system busy, frequency limits, and our own "unreachable" (-2).
TRANSIENT_ERRORS = frozenset({-1, -2, 45009, 45011, 45047})
UNREACHABLE = -2


class WeChatError(Exception):
    """An answer with a non-zero `errcode` (or `UNREACHABLE` when no answer came)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg

    @property
    def refused(self) -> bool:
        return self.errcode in REFUSED_ERRORS

    @property
    def transient(self) -> bool:
        return self.errcode in TRANSIENT_ERRORS or self.errcode in TOKEN_ERRORS


def _answer(response: requests.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        raise WeChatError(UNREACHABLE, f"HTTP {response.status_code}: not JSON") from None
    if not isinstance(data, dict):
        raise WeChatError(UNREACHABLE, "answer is not a JSON object")
    code = data.get("errcode") or 0
    if code:
        raise WeChatError(int(code), str(data.get("errmsg", "")))
    return data


def wechat_call(
    method: str,
    path: str,
    *,
    params: dict | None = None,
    body: dict | None = None,
    config: WeChatSettings | None = None,
) -> dict:
    """One HTTP call to the API base; returns the JSON answer or raises WeChatError."""
    config = config or wechat_settings()
    url = f"{config.api_base}{path}"
    data = None
    headers = {}
    if body is not None:
        data = json.dumps(body, ensure_ascii=False).encode()
        headers["Content-Type"] = "application/json; charset=utf-8"
    try:
        response = requests.request(
            method, url, params=params, data=data, headers=headers, timeout=TIMEOUT
        )
    except requests.RequestException as exc:
        raise WeChatError(UNREACHABLE, f"{type(exc).__name__}: {exc}") from None
    return _answer(response)


def oauth_authorize_url(*, redirect_uri: str, state: str, config=None) -> str:
    """The web-page authorization address (`snsapi_base`: openid only, no consent page)."""
    config = config or wechat_settings()
    query = urlencode(
        {
            "appid": config.appid,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "snsapi_base",
            "state": state,
        }
    )
    return f"{config.open_base}/connect/oauth2/authorize?{query}#wechat_redirect"


def oauth_openid(code: str, *, config=None) -> str:
    """Exchange an authorization code for the visitor's openid."""
    config = config or wechat_settings()
    data = wechat_call(
        "GET",
        "/sns/oauth2/access_token",
        params={
            "appid": config.appid,
            "secret": config.secret,
            "code": code,
            "grant_type": "authorization_code",
        },
        config=config,
    )
    openid = str(data.get("openid") or "")
    if not openid:
        raise WeChatError(UNREACHABLE, "no openid in the answer")
    return openid


def call_with_token(path: str, body: dict, *, config=None) -> dict:
    """POST `body` to an endpoint that takes `access_token`; on 40001/40014/42001 the token is
    refreshed and the call made once more."""
    from .tokens import access_token, access_token_refresh

    config = config or wechat_settings()
    token = access_token(config=config)
    try:
        return wechat_call("POST", path, params={"access_token": token}, body=body, config=config)
    except WeChatError as exc:
        if exc.errcode not in TOKEN_ERRORS:
            raise
        log.info("wechat: token refused (%s), refreshing", exc.errcode)
        token = access_token_refresh(stale=token, config=config)
        return wechat_call("POST", path, params={"access_token": token}, body=body, config=config)


def template_send(*, openid: str, template_id: str, url: str, data: dict, config=None) -> dict:
    """Send one template message; returns WeChat's answer (`msgid`)."""
    body = {
        "touser": openid,
        "template_id": template_id,
        "url": url,
        "data": {key: {"value": value} for key, value in data.items()},
    }
    return call_with_token("/cgi-bin/message/template/send", body, config=config)


def menu_create(menu: dict, *, config=None) -> dict:
    return call_with_token("/cgi-bin/menu/create", menu, config=config)
