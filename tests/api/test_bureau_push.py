"""The bureau's push API: HMAC-signed, replay-proof, idempotent per batch_id."""

import io
import json
import time

import pytest
from django.core.management import call_command

from huzhu.api.keys import api_key_create, sign
from huzhu.api.models import ApiKey
from huzhu.claims.models import Claim
from huzhu.settlements.models import SettlementRecord

pytestmark = pytest.mark.django_db

URL = "/api/bureau/settlements"


@pytest.fixture
def key():
    return api_key_create(kind="source", owner_code="shengzhou-ybj")


@pytest.fixture
def member(enroll):
    return enroll(name="赵六")


def record(sid, member, base="3000.00"):
    return {
        "settlement_id": sid,
        "id_number": member.id_number,
        "name": member.name,
        "hospital": "嵊州市人民医院",
        "admit_date": "2026-03-01",
        "discharge_date": "2026-03-10",
        "total_cost": "8000.00",
        "fund_paid": "5000.00",
        "self_pay_in_policy": base,
        "self_pay_out_policy": "0.00",
        "diagnosis_code": "J18.900",
    }


def post(client, key, body: dict | bytes, *, timestamp=None, secret=None, key_id=None):
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    api_key, real_secret = key
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return client.post(
        URL,
        data=raw,
        content_type="application/json",
        HTTP_X_HUZHU_KEY=key_id or api_key.key_id,
        HTTP_X_HUZHU_TIMESTAMP=ts,
        HTTP_X_HUZHU_SIGNATURE=sign(secret or real_secret, ts, "POST", URL, raw),
    )


def test_signed_push_creates_claims_and_answers_each_record(client, plans, key, member):
    body = {"batch_id": "B-001", "records": [record("P1", member), {"settlement_id": "P2"}]}
    response = post(client, key, body)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["summary"]["created"] == 1 and answer["summary"]["invalid"] == 1
    first, second = answer["records"]
    assert first["status"] == "covered" and first["claims"][0]["amount"] == "1250.00"
    assert second["status"] == "invalid" and second["reason"]
    assert SettlementRecord.objects.get(settlement_id="P1").batch.source == "shengzhou-ybj"


def test_same_batch_same_body_gets_the_same_answer_and_creates_nothing(client, plans, key, member):
    body = {"batch_id": "B-002", "records": [record("P1", member)]}
    first = post(client, key, body)
    again = post(client, key, body)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Claim.objects.count() == 1


def test_same_batch_other_body_is_refused_with_409(client, plans, key, member):
    post(client, key, {"batch_id": "B-003", "records": [record("P1", member)]})
    other = post(client, key, {"batch_id": "B-003", "records": [record("P9", member)]})
    assert other.status_code == 409
    assert not SettlementRecord.objects.filter(settlement_id="P9").exists()


def test_forged_signature_is_refused(client, plans, key, member):
    body = {"batch_id": "B-004", "records": [record("P1", member)]}
    response = post(client, key, body, secret="not-the-secret")
    assert response.status_code == 401
    unknown = post(client, key, body, key_id="hz_unknown")
    assert unknown.status_code == 401
    assert not SettlementRecord.objects.exists()


def test_tampered_body_is_refused(client, plans, key, member):
    api_key, secret = key
    ts = str(int(time.time()))
    signed = json.dumps({"batch_id": "B-005", "records": [record("P1", member)]}).encode()
    sent = json.dumps({"batch_id": "B-005", "records": [record("P1", member, "90000.00")]}).encode()
    response = client.post(
        URL,
        data=sent,
        content_type="application/json",
        HTTP_X_HUZHU_KEY=api_key.key_id,
        HTTP_X_HUZHU_TIMESTAMP=ts,
        HTTP_X_HUZHU_SIGNATURE=sign(secret, ts, "POST", URL, signed),
    )
    assert response.status_code == 401


def test_replayed_request_older_than_five_minutes_is_refused(client, plans, key, member):
    body = {"batch_id": "B-006", "records": [record("P1", member)]}
    response = post(client, key, body, timestamp=int(time.time()) - 301)
    assert response.status_code == 401
    assert not SettlementRecord.objects.exists()


def test_deactivated_key_is_refused(client, plans, key, member):
    call_command("api-key", "deactivate", key[0].key_id, stdout=io.StringIO())
    response = post(client, key, {"batch_id": "B-007", "records": [record("P1", member)]})
    assert response.status_code == 401


def test_api_key_command_prints_the_secret_once_and_stores_it_encrypted(db):
    out = io.StringIO()
    call_command("api-key", "create", "--source", "ybj", stdout=out)
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    key = ApiKey.objects.get(key_id=summary["key_id"])
    assert key.kind == "source" and key.owner_code == "ybj"
    assert summary["secret"] not in key.secret_encrypted


def test_push_endpoint_is_in_the_openapi_schema(client):
    schema = client.get("/api/openapi.json").json()
    assert "/api/bureau/settlements" in schema["paths"]


def test_record_without_hospital_for_a_member_with_a_claim_that_year_is_accepted(
    client, plans, key, member
):
    post(client, key, {"batch_id": "B-100", "records": [record("P1", member)]})
    minimal = {
        "settlement_id": "MIN1",
        "id_number": member.id_number,
        "name": member.name,
        "admit_date": "2026-01-02",
        "discharge_date": "2026-01-03",
        "total_cost": "1000.00",
        "fund_paid": "500.00",
        "self_pay_in_policy": "400.00",
        "self_pay_out_policy": "100.00",
    }
    response = post(client, key, {"batch_id": "B-101", "records": [minimal]})
    assert response.status_code == 200, response.content
    (answer,) = response.json()["records"]
    assert answer["status"] == "covered" and answer["claims"][0]["status"] == "approved"
