"""The signed APIs' door (bureau push, hospital one-stop): who signed a request, and the
OpenAPI security scheme both name (`HuzhuSignature`). The rules are `huzhu.api.keys`."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja.security import APIKeyHeader

from .keys import ApiAuthError, api_request_verify
from .models import ApiKey

__all__ = ["HuzhuSignature", "SIGNATURE_HELP", "signed_request_key", "auth_failed"]

SIGNATURE_HELP = (
    "Signed with an API key: headers `X-Huzhu-Key` (key id), `X-Huzhu-Timestamp` (Unix "
    "seconds, at most 300 s away from the server's clock) and `X-Huzhu-Signature` = hex "
    'HMAC-SHA256(secret, timestamp + "\\n" + METHOD + "\\n" + path + "\\n" + raw body), '
    "path as sent (e.g. `/api/onestop/settle`, with `?query` when there is one). "
    "A missing header, an unknown or deactivated key, a wrong signature or a stale timestamp "
    "is answered 401 with a `code` (`missing_headers`, `bad_signature`, `bad_timestamp`, "
    "`stale_timestamp`)."
)


def signed_request_key(request: HttpRequest, kind: str) -> ApiKey:
    """The active key of `kind` that signed this request, or ApiAuthError."""
    return api_request_verify(
        key_id=request.headers.get("X-Huzhu-Key"),
        timestamp=request.headers.get("X-Huzhu-Timestamp"),
        signature=request.headers.get("X-Huzhu-Signature"),
        method=request.method or "",
        path=request.get_full_path(),
        body=request.body,
        kind=kind,
    )


def auth_failed(request: HttpRequest, exc: ApiAuthError) -> HttpResponse:
    """401 with the stable code (registered on the API for ApiAuthError)."""
    from .api import api

    return api.create_response(
        request, {"code": exc.code, "detail": exc.message, "field": ""}, status=401
    )


class HuzhuSignature(APIKeyHeader):
    """Ninja auth for a signed endpoint; the instance says which kind of key it accepts."""

    param_name = "X-Huzhu-Key"
    openapi_description = SIGNATURE_HELP

    def __init__(self, kind: str) -> None:
        self.kind = kind
        super().__init__()

    def authenticate(self, request, key):
        return signed_request_key(request, self.kind)

    def __call__(self, request):
        return signed_request_key(request, self.kind)
