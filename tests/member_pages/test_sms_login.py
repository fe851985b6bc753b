"""Login with phone + SMS code; first login binds the phone to the member by name + ID."""

from datetime import timedelta

import pytest
from django.utils import timezone

from huzhu.audit.models import AuditEvent
from huzhu.members.models import Member, SmsCode
from huzhu.members.sms import MemorySmsBackend, SmsError, sms_code_request, sms_code_verify
from huzhu.organizations.models import Role, User
from tests.factories import MemberFactory, UnionFactory

PHONE = "13900001111"
ADDR = "203.0.113.7"


@pytest.fixture
def t0():
    return timezone.now()


def test_code_is_sent_and_stored_hashed(db, t0):
    row = sms_code_request(phone="139 0000 1111", client=ADDR, now=t0)
    code = MemorySmsBackend.last_code(PHONE)
    assert row.phone == PHONE and len(code) == 6
    assert code not in row.code_hash
    assert sms_code_verify(phone=PHONE, client=ADDR, code=code, now=t0) == PHONE


def test_one_code_per_phone_per_minute(db, t0):
    sms_code_request(phone=PHONE, client=ADDR, now=t0)
    with pytest.raises(SmsError) as exc:
        sms_code_request(phone=PHONE, client=ADDR, now=t0 + timedelta(seconds=20))
    assert exc.value.code == "too_soon" and "40秒" in exc.value.message
    sms_code_request(phone=PHONE, client=ADDR, now=t0 + timedelta(seconds=61))
    assert SmsCode.objects.filter(phone=PHONE).count() == 2


def test_a_new_code_replaces_the_old_one(db, t0):
    sms_code_request(phone=PHONE, client=ADDR, now=t0)
    first = MemorySmsBackend.last_code(PHONE)
    sms_code_request(phone=PHONE, client=ADDR, now=t0 + timedelta(seconds=61))
    second = MemorySmsBackend.last_code(PHONE)
    if first != second:
        with pytest.raises(SmsError):
            sms_code_verify(phone=PHONE, client=ADDR, code=first, now=t0 + timedelta(seconds=62))
    assert (
        sms_code_verify(phone=PHONE, client=ADDR, code=second, now=t0 + timedelta(seconds=63))
        == PHONE
    )


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_five_wrong_tries_lock_the_phone_from_that_address(db, t0):
    sms_code_request(phone=PHONE, client=ADDR, now=t0)
    code = MemorySmsBackend.last_code(PHONE)
    for left in (4, 3, 2, 1):
        with pytest.raises(SmsError) as exc:
            sms_code_verify(phone=PHONE, client=ADDR, code=_wrong(code), now=t0)
        assert exc.value.code == "wrong_code" and f"还可尝试{left}次" in exc.value.message
    with pytest.raises(SmsError) as exc:
        sms_code_verify(phone=PHONE, client=ADDR, code=_wrong(code), now=t0)
    assert exc.value.code == "locked"
    # The right code no longer works, and no new code can be had during the lockout.
    with pytest.raises(SmsError) as exc:
        sms_code_verify(phone=PHONE, client=ADDR, code=code, now=t0)
    assert exc.value.code == "locked"
    with pytest.raises(SmsError) as exc:
        sms_code_request(phone=PHONE, client=ADDR, now=t0 + timedelta(minutes=5))
    assert exc.value.code == "locked" and "分钟后再试" in exc.value.message
    sms_code_request(phone=PHONE, client=ADDR, now=t0 + timedelta(minutes=16))


def test_expired_and_used_codes_are_refused(db, t0):
    sms_code_request(phone=PHONE, client=ADDR, now=t0)
    code = MemorySmsBackend.last_code(PHONE)
    with pytest.raises(SmsError) as exc:
        sms_code_verify(phone=PHONE, client=ADDR, code=code, now=t0 + timedelta(minutes=6))
    assert exc.value.code == "expired"
    sms_code_request(phone=PHONE, client=ADDR, now=t0 + timedelta(minutes=7))
    code = MemorySmsBackend.last_code(PHONE)
    sms_code_verify(phone=PHONE, client=ADDR, code=code, now=t0 + timedelta(minutes=7))
    with pytest.raises(SmsError) as exc:
        sms_code_verify(phone=PHONE, client=ADDR, code=code, now=t0 + timedelta(minutes=7))
    assert exc.value.code == "no_code"


@pytest.mark.parametrize("phone, code", [("12345", "bad_phone"), ("", "missing_phone")])
def test_bad_phone_numbers(db, phone, code):
    with pytest.raises(SmsError) as exc:
        sms_code_request(phone=phone, client=ADDR)
    assert exc.value.code == code


def test_console_backend_prints_the_code(db, settings, capsys):
    settings.HUZHU_SMS_BACKEND = "huzhu.members.sms.ConsoleSmsBackend"
    sms_code_request(phone=PHONE, client=ADDR)
    out = capsys.readouterr().out
    assert "[短信验证码] 13900001111" in out and "验证码是" in out


# --- the pages ---------------------------------------------------------------------------


def _login_with_code(client, phone=PHONE):
    client.post("/m/login/", {"phone": phone, "action": "send"})
    code = MemorySmsBackend.last_code(phone)
    return client.post("/m/login/", {"phone": phone, "code": code, "action": "login"})


def test_login_bind_flow(client, db, t0):
    union = UnionFactory()
    member = MemberFactory(union=union, name="王芳", phone="")
    client.post("/m/login/", {"phone": PHONE, "action": "send"})
    code = MemorySmsBackend.last_code(PHONE)
    response = client.post("/m/login/", {"phone": PHONE, "code": code, "action": "login"})
    assert response.status_code == 302 and response["Location"] == "/m/bind/"
    # Wrong name: the same message as an unknown ID number.
    response = client.post("/m/bind/", {"name": "王芬", "id_number": member.id_number})
    assert "姓名与身份证号不匹配" in response.content.decode()
    assert Member.objects.get(pk=member.pk).user_id is None
    response = client.post("/m/bind/", {"name": " 王 芳 ", "id_number": member.id_number.lower()})
    assert response.status_code == 302 and response["Location"] == "/m/"
    member.refresh_from_db()
    user = member.user
    assert user.role == Role.MEMBER and user.phone == PHONE and user.union_id is None
    assert not user.has_usable_password()
    assert AuditEvent.objects.filter(action="member.bind", object_id=str(member.pk)).exists()
    # The first binding asks for the consent text before any member page.
    response = client.get("/m/")
    assert response.status_code == 302 and response["Location"] == "/m/consent/?next=%2Fm%2F"
    assert "个人信息处理同意书" in client.get(response["Location"]).content.decode()
    response = client.post("/m/consent/", {"action": "accept", "next": "/m/"})
    assert response.status_code == 302 and response["Location"] == "/m/"
    assert "王芳，您好" in client.get("/m/").content.decode()


def test_bound_phone_logs_straight_in(client, world):
    response = _login_with_code(client, world.member.phone)
    assert response.status_code == 302 and response["Location"] == "/m/"
    assert client.get("/m/")["Location"].startswith("/m/consent/")  # never answered it yet
    client.post("/m/consent/", {"action": "accept"})
    assert client.get("/m/").status_code == 200


def test_wrong_code_on_the_page_says_how_many_tries_are_left(client, world):
    client.post("/m/login/", {"phone": world.member.phone, "action": "send"})
    code = MemorySmsBackend.last_code(world.member.phone)
    response = client.post(
        "/m/login/", {"phone": world.member.phone, "code": _wrong(code), "action": "login"}
    )
    assert "验证码错误，还可尝试4次" in response.content.decode()


def test_member_already_bound_to_another_phone_gets_the_no_match_answer(client, world):
    # The answer must not tell that this ID number is registered, nor show the bound phone.
    _login_with_code(client, "13700002222")
    response = client.post(
        "/m/bind/", {"name": world.member.name, "id_number": world.member.id_number}
    )
    text = response.content.decode()
    assert "姓名与身份证号不匹配" in text and "联系所在工会" in text
    phone = world.member.user.phone
    assert f"{phone[:3]}****{phone[-4:]}" not in text and phone[-4:] not in text
    assert not User.objects.filter(phone="13700002222").exists()


def test_bind_needs_a_verified_phone(client, db):
    response = client.post("/m/bind/", {"name": "x", "id_number": "1"})
    assert response.status_code == 302 and response["Location"] == "/m/login/"


def test_member_pages_need_a_member_login(client, world):
    response = client.get("/m/claims/")
    assert response.status_code == 302 and response["Location"].startswith("/m/login/?next=")
    client.force_login(world.operator)
    response = client.get("/m/")
    assert response.status_code == 403 and "职工服务页面" in response.content.decode()


def test_members_cannot_open_staff_pages(client, world):
    client.force_login(world.member.user)
    assert client.get("/staff/").status_code == 403
