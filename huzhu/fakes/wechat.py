"""A fake WeChat: the official-account API and web-page authorization, in memory.

Documented endpoints it speaks (same paths, parameters and answers as WeChat's):
- `POST /cgi-bin/stable_token` {grant_type, appid, secret, force_refresh}
- `GET  /connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope&state`
  (open.weixin.qq.com): redirects to `redirect_uri?code=…&state=…` for the visitor's openid
- `GET  /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code`
- `POST /cgi-bin/message/template/send?access_token=…`
- `POST /cgi-bin/menu/create?access_token=…`
Errors as WeChat gives them: 40013 bad appid, 40125 bad secret, 40029 bad code, 40001 bad
token, 42001 expired token, 43004 not following, 40037 bad template id.

Who is "in WeChat": the visitor's openid is the cookie `fakewx_openid`, set by
`GET /_fake/open?openid=…&next=URL` (the demo prints such a link), else the default openid.
For tests and people: `GET /_fake/messages` (JSON of the template messages received),
`GET /_fake/` (a page showing them, like a phone's chat), `GET /_fake/menu`.
"""

from __future__ import annotations

import html
import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit, urlunsplit

from .server import Request, answer_html, answer_json, redirect

COOKIE = "fakewx_openid"


@dataclass
class FakeWeChat:
    appid: str = "wxfake0000000001"
    secret: str = "fake-secret"
    default_openid: str = "o_fake_default_openid"
    token_ttl: int = 7200
    templates: set[str] = field(default_factory=set)  # empty: any template id is accepted
    unfollowed: set[str] = field(default_factory=set)  # openids answering 43004
    refuse_all: set[str] = field(default_factory=set)  # openids answering 43101
    busy: int = 0  # the next N template sends answer -1 (system busy)
    echo: bool = False  # print each template message received (the demo's console)
    clock: object = time.time

    def __post_init__(self):
        self.lock = threading.Lock()
        self.tokens: dict[str, float] = {}  # token -> expires at
        self.refused_tokens: set[str] = set()
        self.current = ""
        self.codes: dict[str, str] = {}  # code -> openid
        self.messages: list[dict] = []
        self.menus: list[dict] = []
        self.token_requests: list[dict] = []
        self._msgid = itertools.count(1000)

    # -- state helpers for tests --
    def expire_tokens(self) -> None:
        with self.lock:
            for token in self.tokens:
                self.tokens[token] = 0

    def refuse_current_token(self) -> None:
        """WeChat refuses the current token (40001) yet still hands it out in ordinary mode,
        as after a reset elsewhere: only `force_refresh` gives a working one."""
        with self.lock:
            self.refused_tokens.add(self.current)

    def revoke_tokens(self) -> None:
        """As if the token was reset elsewhere: every token answers 40001."""
        with self.lock:
            self.tokens.clear()
            self.current = ""

    # -- WSGI --
    def __call__(self, environ, start_response):
        request = Request.from_environ(environ)
        route = {
            ("POST", "/cgi-bin/stable_token"): self.stable_token,
            ("GET", "/connect/oauth2/authorize"): self.authorize,
            ("GET", "/sns/oauth2/access_token"): self.oauth_token,
            ("POST", "/cgi-bin/message/template/send"): self.template_send,
            ("POST", "/cgi-bin/menu/create"): self.menu_create,
            ("GET", "/_fake/open"): self.open_as,
            ("GET", "/_fake/messages"): self.list_messages,
            ("GET", "/_fake/menu"): lambda r, s: answer_json(s, self.menus[-1:] or [{}]),
            ("GET", "/_fake/"): self.phone_page,
        }.get((request.method, request.path))
        if route is None:
            return answer_json(
                start_response, {"errcode": 404, "errmsg": "not found"}, "404 Not Found"
            )
        return route(request, start_response)

    def _check_app(self, appid: str, secret: str) -> dict | None:
        if appid != self.appid:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if secret != self.secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        return None

    def stable_token(self, request: Request, start_response):
        data = request.json()
        with self.lock:
            self.token_requests.append(dict(data, secret="***"))
        if data.get("grant_type") != "client_credential":
            return answer_json(start_response, {"errcode": 40002, "errmsg": "invalid grant_type"})
        error = self._check_app(data.get("appid", ""), data.get("secret", ""))
        if error:
            return answer_json(start_response, error)
        now = self.clock()
        with self.lock:
            expires = self.tokens.get(self.current, 0)
            if data.get("force_refresh") or not self.current or expires <= now:
                self.tokens.pop(self.current, None)
                self.current = "FAKE_TOKEN_" + secrets.token_hex(16)
                self.tokens[self.current] = now + self.token_ttl
            left = int(self.tokens[self.current] - now)
            return answer_json(start_response, {"access_token": self.current, "expires_in": left})

    def _token_error(self, request: Request) -> dict | None:
        token = request.query.get("access_token", "")
        with self.lock:
            if token not in self.tokens or token in self.refused_tokens:
                return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}
            if self.tokens[token] <= self.clock():
                return {"errcode": 42001, "errmsg": "access_token expired"}
        return None

    def authorize(self, request: Request, start_response):
        q = request.query
        if q.get("appid") != self.appid:
            return answer_html(start_response, "<p>appid参数错误</p>", "400 Bad Request")
        if q.get("response_type") != "code" or q.get("scope") not in (
            "snsapi_base",
            "snsapi_userinfo",
        ):
            return answer_html(start_response, "<p>scope参数错误</p>", "400 Bad Request")
        openid = request.cookies.get(COOKIE) or self.default_openid
        code = secrets.token_urlsafe(12)
        with self.lock:
            self.codes[code] = openid
        parts = urlsplit(q.get("redirect_uri", ""))
        query = (parts.query + "&" if parts.query else "") + urlencode(
            {"code": code, "state": q.get("state", "")}
        )
        return redirect(start_response, urlunsplit(parts._replace(query=query, fragment="")))

    def oauth_token(self, request: Request, start_response):
        q = request.query
        error = self._check_app(q.get("appid", ""), q.get("secret", ""))
        if error:
            return answer_json(start_response, error)
        with self.lock:
            openid = self.codes.pop(q.get("code", ""), None)
        if openid is None or q.get("grant_type") != "authorization_code":
            return answer_json(start_response, {"errcode": 40029, "errmsg": "invalid code"})
        return answer_json(
            start_response,
            {
                "access_token": "FAKE_WEB_" + secrets.token_hex(8),
                "expires_in": 7200,
                "refresh_token": "FAKE_REFRESH",
                "openid": openid,
                "scope": q.get("scope", "snsapi_base"),
            },
        )

    def template_send(self, request: Request, start_response):
        error = self._token_error(request)
        if error:
            return answer_json(start_response, error)
        data = request.json()
        touser = data.get("touser", "")
        with self.lock:
            if self.busy > 0:
                self.busy -= 1
                return answer_json(start_response, {"errcode": -1, "errmsg": "system error"})
        if self.templates and data.get("template_id") not in self.templates:
            return answer_json(start_response, {"errcode": 40037, "errmsg": "invalid template_id"})
        if touser in self.unfollowed:
            return answer_json(start_response, {"errcode": 43004, "errmsg": "require subscribe"})
        if touser in self.refuse_all:
            return answer_json(
                start_response, {"errcode": 43101, "errmsg": "user refuse to accept the msg"}
            )
        with self.lock:
            msgid = next(self._msgid)
            self.messages.append({**data, "msgid": msgid})
        if self.echo:
            fields = " ".join(
                f"{k}={v.get('value', '')}" for k, v in (data.get("data") or {}).items()
            )
            print(f"[模拟微信] 模板消息 → {touser}: {fields} {data.get('url', '')}", flush=True)
        return answer_json(start_response, {"errcode": 0, "errmsg": "ok", "msgid": msgid})

    def menu_create(self, request: Request, start_response):
        error = self._token_error(request)
        if error:
            return answer_json(start_response, error)
        menu = request.json()
        if not menu.get("button"):
            return answer_json(start_response, {"errcode": 40016, "errmsg": "invalid button size"})
        with self.lock:
            self.menus.append(menu)
        return answer_json(start_response, {"errcode": 0, "errmsg": "ok"})

    def open_as(self, request: Request, start_response):
        openid = request.query.get("openid") or self.default_openid
        target = request.query.get("next") or "/_fake/"
        return redirect(
            start_response, target, headers=[("Set-Cookie", f"{COOKIE}={openid}; Path=/")]
        )

    def list_messages(self, request: Request, start_response):
        with self.lock:
            messages = list(self.messages)
        touser = request.query.get("touser")
        if touser:
            messages = [m for m in messages if m.get("touser") == touser]
        return answer_json(start_response, messages)

    def phone_page(self, request: Request, start_response):
        with self.lock:
            messages = list(reversed(self.messages))
        items = []
        for m in messages:
            rows = "".join(
                f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v.get('value', '')))}</td></tr>"
                for k, v in (m.get("data") or {}).items()
            )
            items.append(
                f"<li><p>to {html.escape(m.get('touser', ''))} · template "
                f"{html.escape(m.get('template_id', ''))}</p><table>{rows}</table>"
                f'<a href="{html.escape(m.get("url", ""))}">详情</a></li>'
            )
        page = (
            "<!doctype html><meta charset=utf-8><title>模拟微信</title>"
            "<h1>模拟微信：收到的模板消息</h1><ul>" + "".join(items) + "</ul>"
        )
        return answer_html(start_response, page)
