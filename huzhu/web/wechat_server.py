"""`/wechat/`: the official account's server address (服务器配置).

GET: WeChat's check (signature over token, timestamp, nonce) answered with `echostr`.
POST: a follower's message or event, answered with a passive reply (huzhu/wechat/messages.py);
in safe mode (`encrypt_type=aes`, `HUZHU_WECHAT_AES_KEY` set) decrypted and answered
encrypted. A request whose signature is wrong or older than 5 minutes gets 403.
"""

from __future__ import annotations

import secrets
import time

from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt

from huzhu.wechat.config import wechat_settings
from huzhu.wechat.crypto import WeChatCryptoError, decrypt, encrypt, signature_ok, wechat_signature
from huzhu.wechat.messages import (
    BadMessage,
    encrypted_reply_xml,
    message_parse,
    reply_for,
    text_reply_xml,
)

MAX_BODY = 64 * 1024
MAX_AGE_SECONDS = 300


@csrf_exempt
def wechat_server(request):
    config = wechat_settings()
    if not (config.enabled and config.token):
        raise Http404
    q = request.GET
    timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
    if not signature_ok((config.token, timestamp, nonce), q.get("signature", "")):
        return HttpResponseForbidden("bad signature")
    if request.method == "GET":
        return HttpResponse(q.get("echostr", ""), content_type="text/plain")
    if request.method != "POST":
        return HttpResponse(status=405)
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_AGE_SECONDS:
        return HttpResponseForbidden("stale timestamp")
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY:
        return HttpResponse("too large", status=413)
    safe_mode = q.get("encrypt_type") == "aes"
    try:
        message = message_parse(request.body)
        if safe_mode:
            if not config.aes_key:
                return HttpResponseBadRequest("safe mode is not configured")
            encrypted = message.get("Encrypt", "")
            parts = (config.token, timestamp, nonce, encrypted)
            if not signature_ok(parts, q.get("msg_signature", "")):
                return HttpResponseForbidden("bad msg_signature")
            message = message_parse(decrypt(encrypted, aes_key=config.aes_key, appid=config.appid))
    except (BadMessage, WeChatCryptoError) as exc:
        return HttpResponseBadRequest(str(exc))
    content = reply_for(message, config)
    if not content:
        return HttpResponse("success", content_type="text/plain")
    xml = text_reply_xml(
        to=message.get("FromUserName", ""), sender=message.get("ToUserName", ""), content=content
    )
    if safe_mode:
        reply_nonce = secrets.token_hex(8)
        reply_ts = str(int(time.time()))
        sealed = encrypt(xml, aes_key=config.aes_key, appid=config.appid)
        xml = encrypted_reply_xml(
            encrypt=sealed,
            signature=wechat_signature(config.token, reply_ts, reply_nonce, sealed),
            timestamp=reply_ts,
            nonce=reply_nonce,
        )
    return HttpResponse(xml, content_type="application/xml; charset=utf-8")
