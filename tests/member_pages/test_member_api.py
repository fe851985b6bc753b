"""The member API: SMS login to a token, coverage, attachments, claims — own data only."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from huzhu.claims.models import Claim
from huzhu.members.sms import MemorySmsBackend
from tests.factories import ClaimFactory, MemberFactory, UnionFactory, consent_answered
from tests.member_pages.images import PDF_BYTES, jpeg_bytes


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: dt.date(2026, 6, 1))


def _token(client, phone):
    assert (
        client.post(
            "/api/member/login/code", {"phone": phone}, content_type="application/json"
        ).status_code
        == 200
    )
    code = MemorySmsBackend.last_code(phone)
    body = client.post(
        "/api/member/login/verify", {"phone": phone, "code": code}, content_type="application/json"
    ).json()
    return body


@pytest.fixture
def api(client, world):
    consent_answered(world.member)  # on an earlier visit (tests/member_pages/test_consent_api.py)
    body = _token(client, world.member.phone)
    assert body["bound"] is True
    headers = {"HTTP_AUTHORIZATION": f"Bearer {body['token']}"}

    class Api:
        def get(self, path):
            return client.get(f"/api/member{path}", **headers)

        def post(self, path, data, **kw):
            return client.post(f"/api/member{path}", data, **headers, **kw)

    return Api()


def test_first_login_binds_through_the_api(client, db):
    member = MemberFactory(union=UnionFactory(), name="赵敏", phone="")
    body = _token(client, "13600001234")
    assert body["bound"] is False and body["bind_token"]
    bad = client.post(
        "/api/member/login/bind",
        {"bind_token": body["bind_token"], "name": "赵明", "id_number": member.id_number},
        content_type="application/json",
    )
    assert bad.status_code == 400 and bad.json()["code"] == "no_match"
    good = client.post(
        "/api/member/login/bind",
        {"bind_token": body["bind_token"], "name": "赵敏", "id_number": member.id_number},
        content_type="application/json",
    ).json()
    assert good["bound"] is True and good["name"] == "赵敏" and good["consent_due"] is True
    auth = {"HTTP_AUTHORIZATION": f"Bearer {good['token']}"}
    coverage = client.get("/api/member/coverage", **auth)
    assert coverage.status_code == 403 and coverage.json()["code"] == "consent_required"
    text = client.get("/api/member/consent", **auth).json()
    accepted = client.post(
        "/api/member/consent",
        {"action": "accept", "version": text["version"]},
        content_type="application/json",
        **auth,
    )
    assert accepted.status_code == 200 and accepted.json()["due"] is False
    coverage = client.get("/api/member/coverage", **auth)
    assert coverage.status_code == 200 and coverage.json() == []


def test_code_requests_are_rate_limited(client, world):
    client.post(
        "/api/member/login/code", {"phone": world.member.phone}, content_type="application/json"
    )
    again = client.post(
        "/api/member/login/code", {"phone": world.member.phone}, content_type="application/json"
    )
    assert again.status_code == 429 and again.json()["code"] == "too_soon"
    assert again.json()["retry_after"] > 0


def test_endpoints_need_a_member_token(client, world):
    assert client.get("/api/member/claims").status_code == 401
    assert client.get("/api/member/claims", HTTP_AUTHORIZATION="Bearer forged").status_code == 401
    client.force_login(world.operator)
    refused = client.get("/api/member/claims")
    assert refused.status_code == 403 and refused.json()["code"] == "not_member"


def test_coverage_comes_from_the_plan(api):
    data = api.get("/coverage").json()
    year = next(c for c in data if c["year"] == 2026)
    assert year["union"] == "甲公司工会" and year["renewal"] is True
    assert [b["code"] for b in year["benefits"]] == [
        "inpatient",
        "critical_illness",
        "female_special",
    ]
    assert "起付线：每年500.00元，由本人负担。" in year["benefits"][0]["lines"]


def _upload(api, kind, name, data):
    return api.post("/attachments", {"kind": kind, "file": SimpleUploadedFile(name, data)})


def test_attachments_then_claim_then_detail(api, world):
    qr = "01,10,033002100111,55667788,15000.00,20260310,1,A"
    invoice = _upload(api, "invoice", "fp.jpg", jpeg_bytes((1100, 900), qr_text=qr))
    assert invoice.status_code == 201 and invoice.json()["invoice"]["number"] == "55667788"
    sheet = _upload(api, "settlement_sheet", "js.jpg", jpeg_bytes())
    summary = _upload(api, "discharge_summary", "xj.pdf", PDF_BYTES)
    body = {
        "benefit_code": "inpatient",
        "hospital_name": "嵊州市人民医院",
        "admit_date": "2026-03-01",
        "discharge_date": "2026-03-10",
        "invoice_number": "55667788",
        "total_cost": "15000.00",
        "self_pay_in_policy": "3000.00",
        "documents": [invoice.json()["id"], sheet.json()["id"], summary.json()["id"]],
    }
    created = api.post("/claims", body, content_type="application/json")
    assert created.status_code == 201, created.json()
    detail = created.json()
    assert detail["status"] == "submitted" and detail["self_pay_in_policy_fen"] == 300_000
    assert [s["to_status"] for s in detail["timeline"]] == ["submitted"]
    assert len(detail["documents"]) == 3
    listed = api.get("/claims").json()
    assert [c["number"] for c in listed] == [detail["number"]]
    assert api.get(f"/claims/{detail['id']}").json()["number"] == detail["number"]


def test_bad_upload_and_bad_claim_give_codes(api):
    bad = _upload(api, "invoice", "fp.jpg", b"plain text")
    assert bad.status_code == 400 and bad.json()["code"] == "unsupported_type"
    assert "按文件内容识别" in bad.json()["detail"]
    refused = api.post(
        "/claims",
        {
            "benefit_code": "inpatient",
            "hospital_name": "x",
            "admit_date": "2026-03-01",
            "discharge_date": "2026-03-10",
            "invoice_number": "1",
            "self_pay_in_policy": "1.999",
        },
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "amount.too_many_decimals"
    assert refused.json()["field"] == "self_pay_in_policy"
    assert not Claim.objects.exists()


def test_auto_claimed_stay_names_the_claim(api, world):
    auto = ClaimFactory(
        enrollment=world.member.enrollments.get(scheme_year__year=2026),
        source="auto",
        filer="platform",
        settlement_id="S1",
        status="approved",
        admit_date=dt.date(2026, 3, 1),
        discharge_date=dt.date(2026, 3, 10),
    )
    refused = api.post(
        "/claims",
        {
            "benefit_code": "inpatient",
            "hospital_name": "x",
            "admit_date": "2026-03-01",
            "discharge_date": "2026-03-10",
            "invoice_number": "1",
            "self_pay_in_policy": "100",
        },
        content_type="application/json",
    )
    assert refused.json()["code"] == "auto_claimed" and refused.json()["claim_id"] == auto.pk


def test_member_sees_only_own_claims_through_the_api(api, world):
    mine = ClaimFactory(enrollment=world.member.enrollments.get(scheme_year__year=2026))
    theirs = ClaimFactory(enrollment=world.other.enrollments.get(scheme_year__year=2026))
    assert [c["id"] for c in api.get("/claims").json()] == [mine.pk]
    assert api.get(f"/claims/{theirs.pk}").status_code == 404


def test_openapi_docs_list_the_member_endpoints(client, db):
    schema = client.get("/api/openapi.json").json()
    for path in ("/api/member/login/code", "/api/member/claims", "/api/member/attachments"):
        assert path in schema["paths"]
    assert client.get("/api/docs").status_code == 200
