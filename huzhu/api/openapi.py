"""The error answers every operation can give, written into the OpenAPI schema in one place.

Django Ninja documents what a handler returns; the framework's own answers are added here,
for every operation they apply to, so clients (and the schemathesis run in the test suite)
see each status the API really sends: 413 (body over the limit, `huzhu.api.limits`), 400 (a
body Ninja cannot parse), 422 (a request that does not fit the operation's schema), 401 (an
operation with a security requirement), 403 (an operation that accepts the session cookie:
CSRF). The security scheme of the signed APIs (`HuzhuSignature`) is defined here too, since
the one-stop operations name it without Ninja's auth machinery.
"""

from __future__ import annotations

from copy import deepcopy

from .signing import SIGNATURE_HELP

__all__ = ["document_error_answers"]

_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
# Operations that read their body themselves (one-stop): no Ninja parsing, so no 422.
_OWN_BODY_PREFIXES = ("/api/onestop/",)

PROBLEM = {
    "type": "object",
    "title": "Problem",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "field": {"type": "string"},
    },
    "required": ["detail"],
}
VALIDATION_ERRORS = {
    "type": "object",
    "title": "ValidationErrors",
    "properties": {
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array"},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        }
    },
    "required": ["detail"],
}
HUZHU_SIGNATURE = {
    "type": "apiKey",
    "in": "header",
    "name": "X-Huzhu-Key",
    "description": SIGNATURE_HELP,
}


def _answer(responses: dict, status: int, schema: dict, description: str) -> None:
    """Document `status` with `schema`; if it is documented already, either shape fits.
    (Ninja keys responses by int; a str key of the same status is taken as that one.)"""
    if str(status) in responses:
        responses[status] = responses.pop(str(status))
    existing = responses.get(status)
    if existing is None:
        responses[status] = {
            "description": description,
            "content": {"application/json": {"schema": deepcopy(schema)}},
        }
        return
    content = existing.setdefault("content", {})
    media = content.setdefault("application/json", {})
    current = media.get("schema")
    if current is None:
        media["schema"] = deepcopy(schema)
    elif current != schema and deepcopy(schema) not in current.get("anyOf", []):
        media["schema"] = {"anyOf": [current, deepcopy(schema)]}


def document_error_answers(schema: dict) -> dict:
    """Add the framework's error answers to every operation of `schema` (in place)."""
    components = schema.setdefault("components", {})
    schemes = components.setdefault("securitySchemes", {})
    for path, operations in schema.get("paths", {}).items():
        for method, op in operations.items():
            if method not in _METHODS:
                continue
            responses = op.setdefault("responses", {})
            names = {name for requirement in op.get("security") or [] for name in requirement}
            if "HuzhuSignature" in names:
                schemes.setdefault("HuzhuSignature", deepcopy(HUZHU_SIGNATURE))
            _answer(responses, 413, PROBLEM, "请求体超过上限（未读取）")
            if names:
                _answer(responses, 401, PROBLEM, "未认证、密钥或签名无效")
            if any(schemes.get(n, {}).get("in") == "cookie" for n in names):
                _answer(responses, 403, PROBLEM, "CSRF校验失败")
            if path.startswith(_OWN_BODY_PREFIXES):
                continue
            if "requestBody" in op:
                _answer(responses, 400, PROBLEM, "请求体无法解析")
            if "requestBody" in op or op.get("parameters"):
                _answer(responses, 422, VALIDATION_ERRORS, "请求不符合接口结构")
    return schema
