"""Permanent errors on the signed APIs are 4xx naming the field, never a 5xx: a NUL character
(PostgreSQL cannot store one), JSON nested too deep, a body over the size limit (413 before it
is read, whoever sends it). One-stop's 503 "retry with the same request id" is only for a
database that is unavailable."""

import json
import time

import pytest
from django.test import override_settings

from huzhu.api.keys import api_key_create, sign
from huzhu.api.limits import ONESTOP_MAX_BODY_BYTES
from huzhu.claims.models import Claim
from huzhu.hospitals.models import OnestopRequest
from huzhu.settlements.models import SettlementRecord, SettlementRowProblem
from tests.onestop.conftest import signed_post, stay

pytestmark = pytest.mark.django_db

BUREAU = "/api/bureau/settlements"


@pytest.fixture
def source_key():
    return api_key_create(kind="source", owner_code="ybj")


def bureau_record(sid, member, **extra):
    body = {k: v for k, v in stay(sid, member).items() if k != "hospital_code"}
    body["total_cost"] = "13000.00"
    body.update(extra)
    return body


def push(client, key, body):
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return signed_post(client, BUREAU, raw, key)


def nested(depth: int) -> bytes:
    return b'{"a":' + b"[" * depth + b"]" * depth + b"}"


# --- one-stop --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "field"),
    [
        ("settle", "name"),
        ("settle", "settlement_id"),
        ("settle", "request_id"),
        ("settle", "hospital"),
        ("settle", "diagnosis_code"),
        ("settle", "visit_id"),
        ("presettle", "name"),
        ("cancel", "reason"),
    ],
)
def test_one_stop_nul_character_in_a_text_field_is_400_naming_it(
    plans, enroll, call, action, field
):
    m = enroll()
    if action == "cancel":
        call("settle", {**stay("S1", m), "request_id": "R1"})
        body = {"hospital_code": "H001", "request_id": "C1", "settlement_id": "S1"}
    else:
        body = {**stay("S1", m), "request_id": "R1"}
    body[field] = "abc\x00def"
    r = call(action, body)
    assert r.status_code == 400, r.content
    assert (r.json()["code"], r.json()["field"]) == ("invalid_field", field)
    assert "NUL" in r.json()["detail"]
    assert OnestopRequest.objects.filter(request_id__in=["R1", "C1"]).count() == (
        1 if action == "cancel" else 0
    )


def test_one_stop_nul_character_in_a_key_or_unknown_field_is_400(plans, enroll, call):
    m = enroll()
    r = call("settle", {**stay("S1", m), "request_id": "R1", "note\x00": "x"})
    assert (r.status_code, r.json()["field"]) == (400, "note")
    r = call("settle", {**stay("S1", m), "request_id": "R1", "note": "x\x00"})
    assert (r.status_code, r.json()["field"]) == (400, "note")
    assert not Claim.objects.exists()


@pytest.mark.parametrize("depth", [30_000, 500])
def test_one_stop_deeply_nested_json_is_400(plans, call, depth):
    r = call("settle", nested(depth))
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "invalid_field"
    assert r.json()["field"] in ("body", "a")


def test_one_stop_json_nested_50000_deep_is_413(plans, call):
    r = call("settle", nested(50_000))  # 100 KB: over the one-stop limit, never parsed
    assert (r.status_code, r.json()["code"]) == (413, "body_too_large")


def test_one_stop_body_over_the_limit_is_413_before_reading_even_without_a_key(plans, call, client):
    big = json.dumps({"hospital_code": "H001", "pad": "x" * ONESTOP_MAX_BODY_BYTES}).encode()
    for r in (
        client.post("/api/onestop/settle", data=big, content_type="application/json"),
        call("settle", big),
    ):
        assert r.status_code == 413, r.content
        assert (r.json()["code"], r.json()["field"]) == ("body_too_large", "body")


def test_one_stop_fault_of_ours_is_500_not_the_retry_503(plans, enroll, call, monkeypatch):
    from django.db import DataError

    from huzhu.hospitals import onestop

    m = enroll()

    def broken(*args, **kwargs):
        raise DataError("value out of range")

    monkeypatch.setattr(onestop, "ledger_lock", broken)
    r = call("settle", {**stay("S1", m), "request_id": "R1"})
    assert (r.status_code, r.json()["code"]) == (500, "internal_error")


# --- bureau push -----------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
def test_bureau_body_over_the_limit_is_413_before_reading(client, source_key, debug, settings):
    # The declared length is over the limit: the body is never read (the test client sends
    # a small one; a reader would fail to find the rest).
    over = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1
    with override_settings(DEBUG=debug):
        r = client.post(BUREAU, data=b"{}", content_type="application/json", CONTENT_LENGTH=over)
    assert r.status_code == 413, r.content
    assert (r.json()["code"], r.json()["field"]) == ("body_too_large", "body")


def test_bureau_nul_character_in_a_record_is_a_named_row_error_and_the_batch_goes_on(
    client, plans, enroll, source_key
):
    m = enroll(name="赵六")
    other = enroll(name="钱七")
    body = {
        "batch_id": "B-NUL",
        "records": [
            bureau_record("P1", m, name="赵\x00六"),
            bureau_record("P2", other),
            bureau_record("P3\x00", other, admit_date="2026-05-01", discharge_date="2026-05-03"),
        ],
    }
    r = push(client, source_key, body)
    assert r.status_code == 200, r.content
    first, second, third = r.json()["records"]
    assert first["status"] == "invalid" and "NUL" in first["reason"]
    assert second["status"] == "covered"
    assert third["status"] == "invalid" and third["settlement_id"] == "P3\\0"
    problems = {p.row_number: p for p in SettlementRowProblem.objects.all()}
    assert (problems[1].field, problems[1].code) == ("name", "nul_character")
    assert (problems[3].field, problems[3].code) == ("settlement_id", "nul_character")
    assert list(SettlementRecord.objects.values_list("settlement_id", flat=True)) == ["P2"]
    # The same push again is the stored answer.
    assert push(client, source_key, body).json() == r.json()


def test_bureau_nul_character_in_batch_id_is_422_naming_it(client, plans, enroll, source_key):
    m = enroll()
    r = push(client, source_key, {"batch_id": "B\x001", "records": [bureau_record("P1", m)]})
    assert r.status_code == 422, r.content
    assert "batch_id" in json.dumps(r.json())
    assert not SettlementRecord.objects.exists()


@pytest.mark.parametrize("depth", [50_000, 500])
def test_bureau_deeply_nested_json_is_4xx(client, plans, source_key, depth):
    body = b'{"batch_id": "B1", "records": [{"name": ' + b"[" * depth + b"]" * depth + b"}]}"
    r = push(client, source_key, body)
    assert r.status_code in (400, 422), r.content
    assert not SettlementRecord.objects.exists()


def test_one_stop_database_unavailable_is_still_503(plans, enroll, call, monkeypatch):
    from django.db import InterfaceError

    from huzhu.hospitals import onestop

    m = enroll()

    def gone(*args, **kwargs):
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(onestop, "ledger_lock", gone)
    r = call("settle", {**stay("S1", m), "request_id": "R1"})
    assert (r.status_code, r.json()["code"]) == (503, "unavailable")


def test_signed_answers_of_a_fresh_timestamp_still_work(plans, enroll, client, source_key):
    """Guard for the helpers above: a clean push is accepted."""
    m = enroll()
    raw = json.dumps({"batch_id": "B-OK", "records": [bureau_record("P1", m)]}).encode()
    ts = str(int(time.time()))
    r = client.post(
        BUREAU,
        data=raw,
        content_type="application/json",
        HTTP_X_HUZHU_KEY=source_key[0].key_id,
        HTTP_X_HUZHU_TIMESTAMP=ts,
        HTTP_X_HUZHU_SIGNATURE=sign(source_key[1], ts, "POST", BUREAU, raw),
    )
    assert r.status_code == 200, r.content
