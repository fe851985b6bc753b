"""The signature of the signed APIs (bureau push, one-stop) covers timestamp, method, path and
body; a deactivated key is refused by every process within a second."""

import hashlib
import hmac
import json
import time

import pytest

from huzhu.api import keys
from huzhu.api.keys import ApiAuthError, api_key_create, api_request_verify, sign
from huzhu.api.models import ApiKey
from huzhu.claims.models import Claim, ClaimStatus
from huzhu.settlements.models import SettlementRecord
from tests.onestop.conftest import stay

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_keys():
    keys.api_keys_forget()
    yield
    keys.api_keys_forget()


def _post(client, path, raw: bytes, key_id: str, ts: str, signature: str):
    return client.post(
        path,
        data=raw,
        content_type="application/json",
        HTTP_X_HUZHU_KEY=key_id,
        HTTP_X_HUZHU_TIMESTAMP=ts,
        HTTP_X_HUZHU_SIGNATURE=signature,
    )


def _signed(client, path, body, key, *, sign_path=None, method="POST"):
    api_key, secret = key
    raw = json.dumps(body, ensure_ascii=False).encode()
    ts = str(int(time.time()))
    signature = sign(secret, ts, method, sign_path or path, raw)
    return _post(client, path, raw, api_key.key_id, ts, signature)


def _old_style(secret: str, ts: str, raw: bytes) -> str:
    """The signature before the method and path were signed: HMAC(timestamp + "\\n" + body)."""
    return hmac.new(secret.encode(), ts.encode() + b"\n" + raw, hashlib.sha256).hexdigest()


def test_signing_string_is_timestamp_method_path_and_body():
    assert keys.signing_string("1700000000", "post", "/api/onestop/settle?x=1", b'{"a":1}') == (
        b'1700000000\nPOST\n/api/onestop/settle?x=1\n{"a":1}'
    )
    expected = hmac.new(
        b"s3cret", b"1700000000\nPOST\n/api/bureau/settlements\n{}", hashlib.sha256
    ).hexdigest()
    assert sign("s3cret", "1700000000", "POST", "/api/bureau/settlements", b"{}") == expected


def test_settle_request_replayed_to_cancel_is_refused(plans, enroll, hkey, client):
    # Given a settled stay and the exact signed bytes and headers of its settle request
    m = enroll()
    api_key, secret = hkey
    body = {**stay("S1", m), "request_id": "R1"}
    raw = json.dumps(body, ensure_ascii=False).encode()
    ts = str(int(time.time()))
    signature = sign(secret, ts, "POST", "/api/onestop/settle", raw)
    r = _post(client, "/api/onestop/settle", raw, api_key.key_id, ts, signature)
    assert (r.status_code, r.json()["code"]) == (200, "ok")
    # When the same bytes and headers are sent to cancel within the replay window
    r = _post(client, "/api/onestop/cancel", raw, api_key.key_id, ts, signature)
    # Then they are refused and the settlement stands
    assert (r.status_code, r.json()["code"]) == (401, "bad_signature")
    assert Claim.objects.get(settlement_id="S1").status == ClaimStatus.APPROVED


def test_old_style_signature_is_401_bad_signature_on_one_stop(plans, enroll, hkey, client):
    m = enroll()
    api_key, secret = hkey
    raw = json.dumps({**stay("S1", m), "request_id": "R1"}).encode()
    ts = str(int(time.time()))
    r = _post(client, "/api/onestop/settle", raw, api_key.key_id, ts, _old_style(secret, ts, raw))
    assert (r.status_code, r.json()["code"]) == (401, "bad_signature")
    assert not Claim.objects.exists()


def test_old_style_signature_is_401_bad_signature_on_the_bureau_push(plans, enroll, client):
    m = enroll()
    api_key, secret = api_key_create(kind="source", owner_code="ybj")
    record = {k: v for k, v in stay("P1", m).items() if k != "hospital_code"}
    raw = json.dumps({"batch_id": "B1", "records": [record]}).encode()
    ts = str(int(time.time()))
    url = "/api/bureau/settlements"
    r = _post(client, url, raw, api_key.key_id, ts, _old_style(secret, ts, raw))
    assert (r.status_code, r.json()["code"]) == (401, "bad_signature")
    assert not SettlementRecord.objects.exists()
    r = _post(client, url, raw, api_key.key_id, ts, sign(secret, ts, "POST", url, raw))
    assert r.status_code == 200, r.content


def test_bureau_push_answers_401_codes(plans, client):
    api_key, secret = api_key_create(kind="source", owner_code="ybj")
    url = "/api/bureau/settlements"
    r = client.post(url, data=b"{}", content_type="application/json")
    assert (r.status_code, r.json()["code"]) == (401, "missing_headers")
    ts = str(int(time.time()) - 3600)
    r = _post(client, url, b"{}", api_key.key_id, ts, sign(secret, ts, "POST", url, b"{}"))
    assert (r.status_code, r.json()["code"]) == (401, "stale_timestamp")
    ts = str(int(time.time()))
    r = _post(client, url, b"{}", "hz_unknown", ts, sign(secret, ts, "POST", url, b"{}"))
    assert (r.status_code, r.json()["code"]) == (401, "bad_signature")


def test_query_string_and_method_are_signed(plans, enroll, hkey, client):
    m = enroll()
    body = stay("S1", m)
    path = "/api/onestop/presettle?trace=1"
    r = _signed(client, path, body, hkey, sign_path="/api/onestop/presettle")
    assert (r.status_code, r.json()["code"]) == (401, "bad_signature")
    r = _signed(client, path, body, hkey, method="PUT")
    assert (r.status_code, r.json()["code"]) == (401, "bad_signature")
    r = _signed(client, path, body, hkey)
    assert (r.status_code, r.json()["code"]) == (200, "ok")


def test_non_ascii_signature_header_is_401_not_an_error(plans, enroll, hkey, client):
    m = enroll()
    raw = json.dumps(stay("S1", m)).encode()
    ts = str(int(time.time()))
    r = _post(client, "/api/onestop/presettle", raw, hkey[0].key_id, ts, "签名" * 32)
    assert (r.status_code, r.json()["code"]) == (401, "bad_signature")


def test_key_deactivated_by_another_process_is_refused_within_a_second(hkey, monkeypatch):
    """Another server process deactivates the key (this process's cache is not told): this
    process refuses it at the latest one second later."""
    api_key, secret = hkey
    clock = [1000.0]
    monkeypatch.setattr(keys, "_clock", lambda: clock[0], raising=False)
    path, raw = "/api/onestop/presettle", b"{}"

    def verify():
        ts = str(int(time.time()))
        return api_request_verify(
            key_id=api_key.key_id,
            timestamp=ts,
            signature=sign(secret, ts, "POST", path, raw),
            method="POST",
            path=path,
            body=raw,
            kind="hospital",
        )

    assert verify().pk == api_key.pk  # cached in this process now
    # Another process's `huzhu api-key deactivate`: a plain update, this cache untouched.
    ApiKey.objects.filter(pk=api_key.pk).update(is_active=False)
    clock[0] += 1.0
    with pytest.raises(ApiAuthError) as refused:
        verify()
    assert refused.value.code == "bad_signature"
    assert keys.KEY_CACHE_SECONDS < 1.0


def test_cached_key_is_checked_again_without_decrypting_its_secret(hkey, monkeypatch):
    api_key, secret = hkey
    clock = [1000.0]
    monkeypatch.setattr(keys, "_clock", lambda: clock[0])
    decrypted = []
    real = keys.decrypt_text
    monkeypatch.setattr(keys, "decrypt_text", lambda t: decrypted.append(t) or real(t))
    path, raw = "/api/onestop/presettle", b"{}"
    for _ in range(3):
        ts = str(int(time.time()))
        keys.api_request_verify(
            key_id=api_key.key_id,
            timestamp=ts,
            signature=sign(secret, ts, "POST", path, raw),
            method="POST",
            path=path,
            body=raw,
            kind="hospital",
        )
        clock[0] += 0.6
    assert len(decrypted) == 1
