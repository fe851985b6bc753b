"""The access token, fetched from `/cgi-bin/stable_token` and kept in the database so that
every process and worker shares one (WeChat limits how often a token may be fetched).

A token is used until `REFRESH_MARGIN` seconds before it expires; then the first process to
notice refreshes it under the row's lock and the others read its result. A token WeChat
refuses (40001/42001) is refreshed at once: the ordinary call first (WeChat hands out its
current token, which may already be newer than ours), and only when that gives back the very
token refused, `force_refresh` (limited by WeChat to 20 a day).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from .client import UNREACHABLE, WeChatError, wechat_call
from .config import wechat_settings
from .models import AccessToken

REFRESH_MARGIN = 300  # seconds: WeChat itself renews a stable token 5 minutes before expiry


def _fresh(row: AccessToken | None, now) -> bool:
    return bool(
        row is not None
        and row.token
        and row.expires_at is not None
        and row.expires_at - timedelta(seconds=REFRESH_MARGIN) > now
    )


def _fetch(config, *, force: bool) -> tuple[str, int]:
    body = {"grant_type": "client_credential", "appid": config.appid, "secret": config.secret}
    if force:
        body["force_refresh"] = True
    data = wechat_call("POST", "/cgi-bin/stable_token", body=body, config=config)
    token = str(data.get("access_token") or "")
    if not token:
        raise WeChatError(UNREACHABLE, "no access_token in the answer")
    return token, int(data.get("expires_in") or 7200)


def access_token(*, config=None, now=None) -> str:
    """The current access token (fetched when none is stored or it is about to expire)."""
    config = config or wechat_settings()
    now = now or timezone.now()
    row = AccessToken.objects.filter(appid=config.appid).first()
    if _fresh(row, now):
        return row.token
    return access_token_refresh(config=config, now=now)


def access_token_refresh(*, stale: str = "", config=None, now=None) -> str:
    """Fetch a new token unless another process already did (the stored one is fresh and is
    not `stale`, the token just refused)."""
    config = config or wechat_settings()
    now = now or timezone.now()
    try:
        with transaction.atomic():
            AccessToken.objects.get_or_create(appid=config.appid)
    except IntegrityError:
        pass  # created meanwhile by another process
    with transaction.atomic():
        row = AccessToken.objects.select_for_update().get(appid=config.appid)
        if _fresh(row, now) and row.token != stale:
            return row.token
        token, expires_in = _fetch(config, force=False)
        if stale and token == stale:
            token, expires_in = _fetch(config, force=True)
        row.token = token
        row.fetched_at = now
        row.expires_at = now + timedelta(seconds=expires_in)
        row.save(update_fields=["token", "fetched_at", "expires_at"])
        return token
