"""The consent text on /m/: asked at the first binding and after a new version, read again
and withdrawn at /m/consent/; a withdrawal shows on the staff member page."""

import pytest

from huzhu.audit.models import AuditEvent
from huzhu.enrollment.consent import consent_text_publish, consent_withheld_member_ids
from huzhu.enrollment.models import MemberConsent
from huzhu.members.models import SmsCode
from huzhu.members.sms import MemorySmsBackend
from huzhu.organizations.models import Role
from tests.factories import UserFactory, consent_answered

pytestmark = pytest.mark.django_db


def login_with_code(client, phone):
    SmsCode.objects.filter(phone=phone).delete()  # a new code at once (not a minute later)
    client.post("/m/login/", {"phone": phone, "action": "send"})
    code = MemorySmsBackend.last_code(phone)
    return client.post("/m/login/", {"phone": phone, "code": code, "action": "login"})


def test_a_new_version_is_asked_again_at_the_next_login(client, world):
    consent_answered(world.member)  # answered version 1 on an earlier visit
    login_with_code(client, world.member.phone)
    assert client.get("/m/claims/").status_code == 200  # nothing due
    admin = UserFactory(username="adm", role=Role.ADMIN)
    consent_text_publish(title="个人信息处理同意书", body="第二版正文" * 20, acting_user=admin)
    assert client.get("/m/claims/").status_code == 200  # this session is not interrupted
    client.post("/m/logout/")
    login_with_code(client, world.member.phone)
    response = client.get("/m/claims/")
    assert response["Location"] == "/m/consent/?next=%2Fm%2Fclaims%2F"
    page = client.get(response["Location"]).content.decode()
    assert "同意书已更新为第2版" in page and "第二版正文" in page
    response = client.post("/m/consent/", {"action": "accept", "next": "/m/claims/"})
    assert response["Location"] == "/m/claims/"
    assert MemberConsent.objects.get(member=world.member).member_answered_version == 2
    assert client.get("/m/claims/").status_code == 200
    event = AuditEvent.objects.filter(action="consent.accept").latest("id")
    assert event.object_id == str(world.member.pk) and event.after["version"] == 2


def test_the_member_reads_it_again_and_withdraws_and_staff_see_it(client, world):
    consent_answered(world.member)
    client.force_login(world.member.user)
    home = client.get("/m/").content.decode()
    assert 'id="consent-card"' in home and "已同意" in home
    page = client.get("/m/consent/").content.decode()
    assert "个人信息处理同意书" in page and "撤回同意" in page
    response = client.post("/m/consent/", {"action": "withdraw"})
    assert response.status_code == 302
    assert consent_withheld_member_ids() == [world.member.pk]
    assert AuditEvent.objects.filter(
        action="consent.withdraw", object_id=str(world.member.pk)
    ).exists()
    home = client.get("/m/").content.decode()
    assert "已撤回" in home and "您仍可在线申请" in home
    assert client.get("/m/claims/new/").status_code == 200  # online claims stay open

    client.force_login(world.operator)
    staff = client.get(f"/staff/members/{world.member.pk}/").content.decode()
    assert 'id="consent-row"' in staff and "已撤回" in staff and "职工本人在线撤回同意" in staff
    assert "consent.withdraw" in staff  # the page's history lists the audit event


def test_declining_at_the_first_login_is_a_withdrawal_and_is_not_asked_again(client, world):
    login_with_code(client, world.member.phone)
    assert client.get("/m/")["Location"].startswith("/m/consent/")
    assert "首次使用" in client.get("/m/consent/").content.decode()
    client.post("/m/consent/", {"action": "withdraw"})
    assert client.get("/m/").status_code == 200
    assert MemberConsent.objects.get(member=world.member).status == "withdrawn"
    client.post("/m/logout/")
    login_with_code(client, world.member.phone)
    assert client.get("/m/").status_code == 200  # answered this version: not asked again
