"""Limits on member login and binding (issue 14): SMS codes per client address, wrong codes
per phone + address, failed binding tries per phone and per address; binding answers that
tell nothing about who is registered."""

from datetime import date, timedelta

import pytest
from django.core import signing
from django.utils import timezone

from huzhu.api.member import BIND_SALT
from huzhu.core.errors import StepRefused
from huzhu.members.accounts import member_bind
from huzhu.members.idnumbers import check_digit
from huzhu.members.models import Member, SmsCode, ThrottleEvent
from huzhu.members.sms import MemorySmsBackend, SmsError, sms_code_request, sms_code_verify
from huzhu.organizations.models import User
from tests.factories import MemberFactory, UnionFactory

STRANGER = "198.51.100.66"
MEMBER_DEVICE = "203.0.113.20"


@pytest.fixture
def t0():
    return timezone.now()


def _api(client, path, data, address):
    return client.post(
        f"/api/member/login/{path}", data, content_type="application/json", REMOTE_ADDR=address
    )


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _bind_token(client, phone, address):
    assert _api(client, "code", {"phone": phone}, address).status_code == 200
    code = MemorySmsBackend.last_code(phone)
    body = _api(client, "verify", {"phone": phone, "code": code}, address).json()
    assert body["bound"] is False
    return body["bind_token"]


def _id_number(birth: date, seq: int, region: str = "330683") -> str:
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + check_digit(body)


# --- SMS codes -----------------------------------------------------------------------------


def test_one_address_gets_codes_for_five_phones_a_minute_not_thirty(client, db):
    answers = [_api(client, "code", {"phone": f"1390000{i:04d}"}, STRANGER) for i in range(30)]
    assert [a.status_code for a in answers[:5]] == [200] * 5
    refused = answers[5:]
    assert {a.status_code for a in refused} == {429}
    assert {a.json()["code"] for a in refused} == {"too_many_codes"}
    assert "本网络获取验证码过于频繁" in refused[0].json()["detail"]
    assert 0 < refused[0].json()["retry_after"] <= 60
    assert len(MemorySmsBackend.outbox) == 5
    # another address is not held back
    assert _api(client, "code", {"phone": "13900009999"}, MEMBER_DEVICE).status_code == 200


def test_one_address_gets_at_most_twenty_codes_an_hour(db, t0):
    for i in range(20):
        sms_code_request(
            phone=f"1390000{i:04d}", client=STRANGER, now=t0 + timedelta(seconds=61 * i)
        )
    with pytest.raises(SmsError) as exc:
        sms_code_request(phone="13900005555", client=STRANGER, now=t0 + timedelta(minutes=25))
    assert exc.value.code == "too_many_codes" and "分钟后再试" in exc.value.message
    # an hour after the first code, one more is allowed
    sms_code_request(phone="13900005555", client=STRANGER, now=t0 + timedelta(minutes=61))


def test_the_hourly_code_limit_is_a_setting(db, t0, settings):
    settings.HUZHU_SMS_CODES_PER_ADDRESS = 3
    for i in range(3):
        sms_code_request(phone=f"1390000{i:04d}", client=STRANGER, now=t0 + timedelta(minutes=i))
    with pytest.raises(SmsError) as exc:
        sms_code_request(phone="13900005555", client=STRANGER, now=t0 + timedelta(minutes=5))
    assert exc.value.code == "too_many_codes"


def test_an_ipv6_line_counts_as_one_address(db, t0):
    # Every address of one /64 (what one subscriber line gets) shares the limits.
    for i in range(5):
        sms_code_request(phone=f"1390000{i:04d}", client=f"2001:db8:1:2::{i + 1:x}", now=t0)
    with pytest.raises(SmsError) as exc:
        sms_code_request(phone="13900005555", client="2001:db8:1:2:ffff::9", now=t0)
    assert exc.value.code == "too_many_codes"
    sms_code_request(phone="13900005555", client="2001:db8:1:3::1", now=t0)


def test_a_strangers_wrong_codes_do_not_lock_the_member_out(client, world):
    phone = world.member.phone
    # Given the member asked for a code on their own phone
    assert _api(client, "code", {"phone": phone}, MEMBER_DEVICE).status_code == 200
    code = MemorySmsBackend.last_code(phone)
    # When a stranger types 6 wrong codes for that phone from elsewhere
    answers = [
        _api(client, "verify", {"phone": phone, "code": _wrong(code)}, STRANGER) for _ in range(6)
    ]
    assert [a.json()["code"] for a in answers] == ["wrong_code"] * 4 + ["locked"] * 2
    assert answers[-1].status_code == 429 and answers[-1].json()["retry_after"] > 0
    # ... the stranger is locked out, even with the right code, and gets no new code sent
    assert _api(client, "verify", {"phone": phone, "code": code}, STRANGER).status_code == 429
    assert _api(client, "code", {"phone": phone}, STRANGER).json()["code"] == "locked"
    # Then the member's own device still logs in with the code it got
    body = _api(client, "verify", {"phone": phone, "code": code}, MEMBER_DEVICE).json()
    assert body["bound"] is True and body["token"]


def test_the_login_page_counts_wrong_codes_per_address(client, world):
    phone = world.member.phone
    client.post("/m/login/", {"phone": phone, "action": "send"}, REMOTE_ADDR=MEMBER_DEVICE)
    code = MemorySmsBackend.last_code(phone)
    for _ in range(5):
        page = client.post(
            "/m/login/",
            {"phone": phone, "code": _wrong(code), "action": "login"},
            REMOTE_ADDR=STRANGER,
        )
    assert "验证码错误次数过多" in page.content.decode()
    response = client.post(
        "/m/login/", {"phone": phone, "code": code, "action": "login"}, REMOTE_ADDR=MEMBER_DEVICE
    )
    assert response.status_code == 302 and response["Location"] == "/m/"


def test_one_address_may_type_twenty_wrong_codes_an_hour_across_phones(db, t0):
    phones = [f"1390000{i:04d}" for i in range(5)]
    for i, phone in enumerate(phones):
        sms_code_request(phone=phone, client=f"192.0.2.{i + 1}", now=t0)
    outcomes = []
    for phone in phones:
        for _ in range(5 if phone != phones[-1] else 1):
            with pytest.raises(SmsError) as exc:
                sms_code_verify(phone=phone, code=_wrong(_code(phone)), client=STRANGER, now=t0)
            outcomes.append(exc.value.code)
    # 4 phones x 5 = 20 wrong codes: the address is stopped, on a fifth phone too
    assert outcomes[-1] == "locked" and outcomes.count("locked") == 4 + 1
    with pytest.raises(SmsError) as exc:
        sms_code_verify(phone=phones[-1], code=_code(phones[-1]), client=STRANGER, now=t0)
    assert exc.value.code == "locked"
    assert sms_code_verify(phone=phones[-1], code=_code(phones[-1]), client="192.0.2.5", now=t0)


def _code(phone):
    return MemorySmsBackend.last_code(phone)


def test_a_code_takes_twenty_wrong_tries_in_all(db, t0):
    phone = "13900001111"
    sms_code_request(phone=phone, client=MEMBER_DEVICE, now=t0)
    code = _code(phone)
    codes = []
    for n in range(4):
        for _ in range(5):
            with pytest.raises(SmsError) as exc:
                sms_code_verify(phone=phone, code=_wrong(code), client=f"192.0.2.{n}", now=t0)
            codes.append(exc.value.code)
    assert codes[-1] == "locked"  # the pair's 5th try also used the code up
    assert SmsCode.objects.get().consumed_at is not None
    with pytest.raises(SmsError) as exc:
        sms_code_verify(phone=phone, code=code, client=MEMBER_DEVICE, now=t0)
    assert exc.value.code == "no_code"
    # the member asks for a new code and gets in
    sms_code_request(phone=phone, client=MEMBER_DEVICE, now=t0 + timedelta(seconds=61))
    assert sms_code_verify(phone=phone, code=_code(phone), client=MEMBER_DEVICE, now=t0)


def test_right_codes_and_refusals_that_guess_nothing_are_not_counted(db, t0):
    phone = "13900001111"
    with pytest.raises(SmsError):  # no code requested
        sms_code_verify(phone=phone, code="123456", client=STRANGER, now=t0)
    for i in range(6):
        sms_code_request(phone=phone, client=STRANGER, now=t0 + timedelta(minutes=2 * i))
        sms_code_verify(
            phone=phone, code=_code(phone), client=STRANGER, now=t0 + timedelta(minutes=2 * i)
        )
    assert not ThrottleEvent.objects.filter(scope__startswith="sms.wrong").exists()
    # nor is a code request refused as too soon
    sms_code_request(phone="13900002222", client=STRANGER, now=t0 + timedelta(minutes=30))
    for _ in range(3):
        with pytest.raises(SmsError):
            sms_code_request(phone="13900002222", client=STRANGER, now=t0 + timedelta(minutes=30))
    assert ThrottleEvent.objects.filter(scope="sms.code.address.1m").count() == 1


# --- binding -------------------------------------------------------------------------------


def test_guessing_an_id_number_from_name_and_birth_date_is_stopped(client, db):
    # Given a member whose name and birth date the attacker knows, not yet bound
    birth = date(1980, 5, 17)
    target = MemberFactory(
        union=UnionFactory(), name="周杰", phone="", id_number=_id_number(birth, 27)
    )
    # When the attacker walks the sequence numbers from a phone of their own
    token = _bind_token(client, "13600006666", STRANGER)
    answers = [
        _api(
            client,
            "bind",
            {"bind_token": token, "name": "周杰", "id_number": _id_number(birth, seq)},
            STRANGER,
        )
        for seq in range(30)  # the 28th guess is the member's number
    ]
    # Then 5 tries are answered and every later one refused, the right one included
    assert [a.status_code for a in answers[:5]] == [400] * 5
    assert {a.json()["code"] for a in answers[:5]} == {"no_match"}
    assert {a.status_code for a in answers[5:]} == {429}
    assert {a.json()["code"] for a in answers[5:]} == {"too_many_tries"}
    assert "该手机号暂不能绑定" in answers[-1].json()["detail"]
    assert answers[-1].json()["retry_after"] > 23 * 3600
    target.refresh_from_db()
    assert target.user_id is None
    assert not User.objects.filter(phone="13600006666").exists()
    # A new bind token for the same phone (a new SMS login) does not start the count again
    token = signing.dumps({"p": "13600006666"}, salt=BIND_SALT)
    again = _api(
        client,
        "bind",
        {"bind_token": token, "name": "周杰", "id_number": target.id_number},
        MEMBER_DEVICE,
    )
    assert again.status_code == 429


def test_the_phone_may_try_again_a_day_after_its_first_failure(db, t0):
    member = MemberFactory(union=UnionFactory(), name="周杰", phone="")
    wrong = _id_number(date(1990, 1, 1), 1)
    for i in range(5):
        with pytest.raises(StepRefused) as exc:
            member_bind(
                phone="13600006666",
                name="周杰",
                id_number=wrong,
                client=STRANGER,
                now=t0 + timedelta(hours=i),
            )
    assert "核对次数已用完" in exc.value.message
    with pytest.raises(StepRefused) as exc:
        member_bind(
            phone="13600006666",
            name="周杰",
            id_number=member.id_number,
            client=MEMBER_DEVICE,
            now=t0 + timedelta(hours=23),
        )
    assert exc.value.code == "too_many_tries"
    user = member_bind(
        phone="13600006666",
        name="周杰",
        id_number=member.id_number,
        client=MEMBER_DEVICE,
        now=t0 + timedelta(hours=24, seconds=1),
    )
    assert Member.objects.get(pk=member.pk).user_id == user.pk


def test_one_address_gets_twenty_failed_binds_an_hour(db, t0):
    member = MemberFactory(union=UnionFactory(), name="周杰", phone="")
    wrong = _id_number(date(1990, 1, 1), 1)
    for p in range(4):
        for _ in range(5):
            with pytest.raises(StepRefused):
                member_bind(
                    phone=f"1360000{p:04d}", name="周杰", id_number=wrong, client=STRANGER, now=t0
                )
    # a fifth phone from the same address is refused, even with the right details
    with pytest.raises(StepRefused) as exc:
        member_bind(
            phone="13600009999",
            name="周杰",
            id_number=member.id_number,
            client=STRANGER,
            now=t0 + timedelta(minutes=30),
        )
    assert exc.value.code == "too_many_tries" and "本网络" in exc.value.message
    assert 0 < exc.value.retry_after <= 30 * 60
    # from another address, or an hour later, it binds
    member_bind(
        phone="13600009999",
        name="周杰",
        id_number=member.id_number,
        client=MEMBER_DEVICE,
        now=t0 + timedelta(minutes=30),
    )
    assert Member.objects.get(pk=member.pk).user.phone == "13600009999"


def test_a_successful_bind_and_a_malformed_id_are_not_counted(db, t0):
    member = MemberFactory(union=UnionFactory(), name="周杰", phone="")
    for _ in range(6):
        with pytest.raises(StepRefused) as exc:
            member_bind(phone="13600006666", name="周杰", id_number="12345", client=STRANGER)
        assert exc.value.code.startswith("id_number.")
    member_bind(phone="13600006666", name="周杰", id_number=member.id_number, client=STRANGER)
    assert not ThrottleEvent.objects.exists()


def test_binding_answers_are_the_same_whether_or_not_the_id_is_registered(client, world):
    unknown = _id_number(date(1977, 3, 3), 5)
    assert not Member.objects.filter(id_number=unknown).exists()
    tries = {
        "unknown id": {"name": world.member.name, "id_number": unknown},
        "wrong name": {"name": "某某某", "id_number": world.member.id_number},
        "bound elsewhere": {"name": world.member.name, "id_number": world.member.id_number},
    }
    answers = {}
    for n, (what, data) in enumerate(tries.items()):
        token = _bind_token(client, f"1370000{n:04d}", f"192.0.2.{n + 1}")
        response = _api(client, "bind", {"bind_token": token, **data}, f"192.0.2.{n + 1}")
        assert response.status_code == 400, what
        answers[what] = response.json()
    assert len({tuple(sorted(a.items())) for a in answers.values()}) == 1, answers
    bound_phone = world.member.user.phone
    for answer in answers.values():
        assert bound_phone[-4:] not in answer["detail"] and "****" not in answer["detail"]


def test_the_bind_page_has_the_same_limit(client, world):
    phone = "13700003333"
    client.post("/m/login/", {"phone": phone, "action": "send"}, REMOTE_ADDR=STRANGER)
    code = MemorySmsBackend.last_code(phone)
    client.post("/m/login/", {"phone": phone, "code": code, "action": "login"})
    wrong = _id_number(date(1990, 1, 1), 1)
    pages = [
        client.post("/m/bind/", {"name": "不存在", "id_number": wrong}).content.decode()
        for _ in range(5)
    ]
    assert "还可核对4次" in pages[0] and "核对次数已用完" in pages[-1]
    member = MemberFactory(union=world.w1, name="吴刚", phone="")
    page = client.post("/m/bind/", {"name": "吴刚", "id_number": member.id_number})
    assert page.status_code == 200
    assert "核对未通过的次数过多" in page.content.decode()
    assert Member.objects.get(pk=member.pk).user_id is None
