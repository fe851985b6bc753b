"""One definition parses and documents the one-stop bodies (issue 15): the request bodies in
/api/openapi.json are what the API accepts. Each test reads the published schema and holds
the API to it (a limit, a required field or a field changed in one place only fails here)."""

import pytest

from huzhu.hospitals.models import OnestopRequest
from huzhu.hospitals.onestop_schemas import CancelIn, SettleIn, StayIn
from tests.onestop.conftest import stay

pytestmark = pytest.mark.django_db

OPERATIONS = {"presettle": StayIn, "settle": SettleIn, "cancel": CancelIn}


@pytest.fixture
def published(client):
    schema = client.get("/api/openapi.json").json()
    return {
        action: schema["paths"][f"/api/onestop/{action}"]["post"]["requestBody"]["content"][
            "application/json"
        ]["schema"]
        for action in OPERATIONS
    }


def _valid(action, m):
    if action == "cancel":
        return {"hospital_code": "H001", "request_id": "C1", "settlement_id": "S1"}
    return {**stay("S1", m), "request_id": "R1"}


def test_the_published_bodies_are_the_parsing_models(published):
    for action, model in OPERATIONS.items():
        assert published[action] == model.model_json_schema()


@pytest.mark.parametrize("action", list(OPERATIONS))
def test_every_documented_length_limit_is_the_one_enforced(published, plans, enroll, call, action):
    m = enroll()
    limited = {
        name: prop["maxLength"]
        for name, prop in published[action]["properties"].items()
        if "maxLength" in prop and name != "hospital_code"  # must equal the key's hospital
    }
    assert limited  # request_id, settlement_id, name, … carry their limit
    for name, limit in limited.items():
        over = call(action, {**_valid(action, m), name: "x" * (limit + 1)})
        assert (over.status_code, over.json()["field"]) == (400, name), over.content
        assert str(limit) in over.json()["detail"]
        at = {**_valid(action, m), "request_id": f"L-{name}", name: "x" * limit}
        r = call(action, at)
        assert r.status_code == 200 or r.json()["field"] != name, r.content


@pytest.mark.parametrize("action", list(OPERATIONS))
def test_every_documented_required_field_is_required(published, plans, enroll, call, action):
    m = enroll()
    required = published[action]["required"]
    assert "hospital_code" in required and "settlement_id" in required
    for name in required:
        body = {k: v for k, v in _valid(action, m).items() if k != name}
        r = call(action, body)
        assert (r.status_code, r.json()["code"], r.json()["field"]) == (
            400,
            "invalid_field",
            name,
        ), r.content
        assert r.json()["detail"].startswith("缺少")
    assert not OnestopRequest.objects.exists()


def test_documented_amounts_are_yuan_strings_parsed_to_exact_fen(published, plans, enroll, call):
    m = enroll()
    props = published["settle"]["properties"]
    for name in ("total_cost", "fund_paid", "self_pay_in_policy", "self_pay_out_policy"):
        assert {"type": "string"} in props[name]["anyOf"]
    body = SettleIn.parse(
        {**stay("S1", m, base="3000.10"), "request_id": "R1"},
        hospital=type("H", (), {"code": "H001"})(),
    )
    assert body.self_pay_in_policy_fen == 300010 and isinstance(body.self_pay_in_policy_fen, int)
    assert body.amounts["total_cost"] == 1300010
    for value in (3000.1, 300010, "3000.101", "-0.01", "1e3"):
        r = call("settle", {**stay("S1", m), "request_id": "R1", "self_pay_in_policy": value})
        assert (r.status_code, r.json()["field"]) == (400, "self_pay_in_policy"), value


def test_the_first_wrong_field_in_declared_order_is_named(plans, enroll, call):
    """Several fields wrong: the body-level problems first (in body order), then
    hospital_code, request_id, the stay's fields in the order SettleIn declares them."""
    m = enroll()
    base = {**stay("S1", m), "request_id": "R1"}
    bad = {"discharge_date": "2026-03-01", "admit_date": "2026-03-05", "total_cost": "x"}
    r = call("settle", {**base, **bad})
    assert r.json()["field"] == "discharge_date"  # before the amounts, as it always was
    r = call("settle", {**base, "diagnosis_code": "d" * 40, "request_id": ""})
    assert r.json()["field"] == "request_id"
    r = call("settle", {**base, "request_id": "", "hospital_code": "H999"})
    assert (r.json()["code"], r.json()["field"]) == ("hospital_mismatch", "hospital_code")
    r = call("settle", {**base, "hospital_code": "H999", "note": {"a": 1}})
    assert r.json()["field"] == "note"
    assert list(SettleIn.model_fields)[:4] == [
        "hospital_code",
        "request_id",
        "settlement_id",
        "id_number",
    ]
