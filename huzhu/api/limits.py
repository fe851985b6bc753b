"""Body size limits of the JSON API, enforced from `Content-Length` before the body is read.

A body over its limit is answered 413 `body_too_large` (field `body`) before any key is
checked or byte read, whoever sends it: reading it first would hold it in memory (Django's
`DATA_UPLOAD_MAX_MEMORY_SIZE` then raises, which surfaced as a 500 or a one-stop 503).
One-stop bodies are one stay (under 1 KB), so their limit is small; every other API path
(the bureau's pushed batches, the member app's uploads) has Django's limit.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpResponse

__all__ = ["ONESTOP_MAX_BODY_BYTES", "ApiBodyLimitMiddleware", "api_body_limit"]

ONESTOP_MAX_BODY_BYTES = 64 * 1024


def api_body_limit(path: str) -> int | None:
    """The largest body (bytes) accepted on an API path, None for no limit of ours."""
    if path.startswith("/api/onestop/"):
        return ONESTOP_MAX_BODY_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class ApiBodyLimitMiddleware:
    """413 for an `/api/` request whose declared body is over its limit (first middleware)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith("/api/"):
            limit = api_body_limit(path)
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0  # Django reads no body then either
            if limit is not None and length > limit:
                return _too_large(limit)
        return self.get_response(request)


def _too_large(limit: int) -> HttpResponse:
    payload = {
        "code": "body_too_large",
        "detail": f"请求体超过{limit}字节的上限，未读取、未处理",
        "field": "body",
    }
    return HttpResponse(
        json.dumps(payload, ensure_ascii=False),
        status=413,
        content_type="application/json; charset=utf-8",
    )
