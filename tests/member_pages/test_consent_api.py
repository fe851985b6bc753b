"""The consent text through the member API, as on /m/: the calls the pages gate answer 403
`consent_required` until the member answers the current version; the text and the status
are read and answered (accept / withdraw, audited) through `consent`."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from huzhu.audit.models import AuditEvent
from huzhu.enrollment.consent import consent_text_publish, consent_withheld_member_ids
from huzhu.enrollment.models import MemberConsent
from huzhu.members.models import SmsCode
from huzhu.members.sms import MemorySmsBackend
from huzhu.organizations.models import Role
from tests.factories import UserFactory, consent_answered
from tests.member_pages.images import PDF_BYTES

pytestmark = pytest.mark.django_db

CLAIM = {
    "benefit_code": "inpatient",
    "hospital_name": "嵊州市人民医院",
    "admit_date": "2026-05-01",
    "discharge_date": "2026-05-08",
}
GATED = [
    ("get", "/api/member/coverage", None),
    ("get", "/api/member/claims", None),
    ("get", "/api/member/claims/1", None),
    ("post", "/api/member/claims", CLAIM),
    ("post", "/api/member/attachments", "file"),
]


def token(client, phone) -> dict:
    SmsCode.objects.filter(phone=phone).delete()  # a new code at once (not a minute later)
    client.post("/api/member/login/code", {"phone": phone}, content_type="application/json")
    body = client.post(
        "/api/member/login/verify",
        {"phone": phone, "code": MemorySmsBackend.last_code(phone)},
        content_type="application/json",
    ).json()
    return body


def call(client, auth, method, path, data=None):
    if method == "get":
        return client.get(path, **auth)
    if data == "file":  # a well-formed upload: refused for the consent, not for its shape
        upload = SimpleUploadedFile("a.pdf", PDF_BYTES, content_type="application/pdf")
        return client.post(path, {"kind": "invoice", "file": upload}, **auth)
    return client.post(path, data, content_type="application/json", **auth)


def answer(client, auth, action, version):
    return client.post(
        "/api/member/consent",
        {"action": action, "version": version},
        content_type="application/json",
        **auth,
    )


def test_until_answered_the_gated_calls_answer_consent_required(client, world):
    body = token(client, world.member.phone)
    assert body["consent_due"] is True
    auth = {"HTTP_AUTHORIZATION": f"Bearer {body['token']}"}
    for method, path, data in GATED:
        response = call(client, auth, method, path, data)
        assert response.status_code == 403, path
        assert response.json()["code"] == "consent_required", path
    # The text and the status can be read
    text = client.get("/api/member/consent", **auth).json()
    assert text["version"] == 1 and text["due"] is True and text["answered_version"] == 0
    assert "个人信息" in text["title"] and "撤回" in text["body"]
    # Accepting opens the other calls and is audited as on /m/
    accepted = answer(client, auth, "accept", 1).json()
    assert accepted["due"] is False and accepted["status"] == "given"
    assert client.get("/api/member/claims", **auth).status_code == 200
    event = AuditEvent.objects.get(action="consent.accept")
    assert event.object_id == str(world.member.pk) and event.actor == world.member.user
    assert event.after == {"status": "given", "version": 1, "source": "member"}


def test_withdrawing_is_an_answer_the_member_goes_on_and_staff_see_it(client, world):
    consent_answered(world.member)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token(client, world.member.phone)['token']}"}
    withdrawn = answer(client, auth, "withdraw", 1)
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn" and withdrawn.json()["withheld"] is True
    assert consent_withheld_member_ids() == [world.member.pk]
    assert AuditEvent.objects.filter(
        action="consent.withdraw", object_id=str(world.member.pk)
    ).exists()
    assert client.get("/api/member/claims", **auth).status_code == 200  # online claims stay open
    again = answer(client, auth, "accept", 1).json()
    assert again["status"] == "given" and consent_withheld_member_ids() == []


def test_a_new_version_is_asked_at_the_next_call_and_a_stale_answer_is_refused(client, world):
    consent_answered(world.member)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token(client, world.member.phone)['token']}"}
    assert client.get("/api/member/coverage", **auth).status_code == 200
    admin = UserFactory(username="adm", role=Role.ADMIN)
    consent_text_publish(title="个人信息处理同意书", body="第二版正文" * 20, acting_user=admin)
    refused = client.get("/api/member/coverage", **auth)
    assert refused.status_code == 403 and refused.json()["code"] == "consent_required"
    assert "第2版" in refused.json()["detail"]
    stale = answer(client, auth, "accept", 1)
    assert stale.status_code == 409 and stale.json()["code"] == "consent_version_changed"
    assert answer(client, auth, "maybe", 2).json()["code"] == "bad_action"
    assert answer(client, auth, "accept", 2).status_code == 200
    assert MemberConsent.objects.get(member=world.member).member_answered_version == 2
    assert client.get("/api/member/coverage", **auth).status_code == 200


def test_consent_answers_are_documented_in_the_openapi_schema(client, db):
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in ("/api/member/coverage", "/api/member/claims", "/api/member/attachments"):
        for operation in paths[path].values():
            assert "403" in operation["responses"], path
    consent = paths["/api/member/consent"]
    assert {"200", "403", "404"} <= set(consent["get"]["responses"])
    assert {"200", "400", "403", "404", "409"} <= set(consent["post"]["responses"])
