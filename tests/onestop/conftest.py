"""Fixtures for one-stop settlement: domain.md's plan for 2026, a registered hospital with its
API key, and a signed-request helper."""

import json
import time
from decimal import Decimal, InvalidOperation

import pytest

from huzhu.api.keys import api_key_create, sign
from huzhu.hospitals.models import Hospital
from tests.settlements.conftest import enroll, plans, union, write_csv, year2026  # noqa: F401

URLS = {
    "presettle": "/api/onestop/presettle",
    "settle": "/api/onestop/settle",
    "cancel": "/api/onestop/cancel",
}


def make_hospital(code="H001", name="嵊州市人民医院", account="6222021234567890123"):
    h = Hospital(code=code, name=name, level="三级乙等", bank_name="工商银行嵊州支行")
    h.bank_account = account
    h.save()
    return h


@pytest.fixture
def hospital(db):
    return make_hospital()


@pytest.fixture
def hkey(hospital):
    return api_key_create(kind="hospital", owner_code=hospital.code, owner_name=hospital.name)


def _plus(*yuan: str) -> str:
    try:
        return str(sum(Decimal(y) for y in yuan))
    except InvalidOperation:
        return "20000.00"


def stay(sid, member, *, base="3000.00", admit="2026-03-01", discharge="2026-03-10", **extra):
    body = {
        "hospital_code": "H001",
        "settlement_id": sid,
        "id_number": member.id_number,
        "name": member.name,
        "hospital": "嵊州市人民医院",
        "admit_date": admit,
        "discharge_date": discharge,
        # Amounts that add up (else the stay needs review, as in the file import).
        "total_cost": _plus("10000.00", base),
        "fund_paid": "10000.00",
        "self_pay_in_policy": base,
        "self_pay_out_policy": "0.00",
        "diagnosis_code": "J18.900",
    }
    body.update(extra)
    return body


def signed_post(client, url, body, key, *, timestamp=None, secret=None, key_id=None):
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    api_key, real_secret = key
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return client.post(
        url,
        data=raw,
        content_type="application/json",
        HTTP_X_HUZHU_KEY=key_id or api_key.key_id,
        HTTP_X_HUZHU_TIMESTAMP=ts,
        HTTP_X_HUZHU_SIGNATURE=sign(secret or real_secret, ts, "POST", url, raw),
    )


@pytest.fixture
def call(client, hkey):
    """call("settle", body) -> response, signed with the hospital's key."""

    def _call(action, body, key=None, **kwargs):
        return signed_post(client, URLS[action], body, key or hkey, **kwargs)

    return _call


@pytest.fixture(autouse=True)
def _fresh_caches():
    from huzhu.hospitals.onestop import caches_clear

    caches_clear()
    yield
    caches_clear()
