"""Schemathesis against `/api/openapi.json`: every operation gets generated requests, valid and
invalid (a bounded number each, so the suite stays fast); no answer may be a 5xx or fall
outside what the schema documents (status, content type, body).

The signed APIs get their signature from a hook: a WSGI layer in front of the app signs each
request that carries `X-Huzhu-Key` with a real key of the kind its path needs, over the exact
method, path and body bytes sent (as `huzhu.api.keys.sign`). A request without the header
stays unsigned, so the 401 answers are exercised too."""

import io
import time
from urllib.parse import quote

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from huzhu.api.keys import api_key_create, sign

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class SigningHook:
    """WSGI middleware: signs requests to the signed APIs that carry `X-Huzhu-Key`."""

    def __init__(self, app, keys: dict[str, tuple[str, str]]) -> None:
        self.app = app
        self.keys = keys  # path prefix -> (key id, secret)
        self.seen: list[tuple[str, str]] = []  # (path, status) of every answer

    def __call__(self, environ, start_response):
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        key = next((k for prefix, k in self.keys.items() if path.startswith(prefix)), None)
        if key is not None and "HTTP_X_HUZHU_KEY" in environ:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            # As Django's get_full_path() shows it: percent-encoded, query string as sent.
            full = quote(path.encode("latin-1"), safe="/:@&+$,-_.!~*'()=;%")
            if environ.get("QUERY_STRING"):
                full += "?" + environ["QUERY_STRING"]
            ts = str(int(time.time()))
            environ["HTTP_X_HUZHU_KEY"] = key[0]
            environ["HTTP_X_HUZHU_TIMESTAMP"] = ts
            environ["HTTP_X_HUZHU_SIGNATURE"] = sign(
                key[1], ts, environ["REQUEST_METHOD"], full, body
            )

        def recording(status, headers, *args):
            self.seen.append((path, status.split()[0]))
            return start_response(status, headers, *args)

        return self.app(environ, recording)


HOOK = SigningHook(get_wsgi_application(), {})
# The schema is read once, at collection (it needs no database); the keys come per test.
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", HOOK)


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """The app is called through WSGI, not Django's test client: like the test client, keep
    the end of a request from closing the connection that holds the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def signing_keys(plans, hkey):
    hospital_key, hospital_secret = hkey
    source_key, source_secret = api_key_create(kind="source", owner_code="ybj")
    HOOK.keys.update(
        {
            "/api/onestop/": (hospital_key.key_id, hospital_secret),
            "/api/bureau/": (source_key.key_id, source_secret),
        }
    )
    yield
    HOOK.keys.clear()


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_stay_within_the_schema(case):
    case.call_and_validate(checks=CHECKS)


def test_the_hook_signs_so_the_signed_apis_answer_beyond_401():
    """Runs after the generated requests (same module): some signed requests got past the
    signature check (a broken hook would leave every one at 401)."""
    signed = [(p, s) for p, s in HOOK.seen if p.startswith(("/api/onestop/", "/api/bureau/"))]
    if not signed:
        pytest.skip("the generated requests did not run in this session (-k)")
    assert any(s != "401" for _p, s in signed)
    assert not any(s.startswith("5") for _p, s in HOOK.seen)
