"""Staff login hardening: lockout (django-axes), second factor (django-otp), session policy,
password rules, one login page for /staff/, /cms/ and /django-admin/."""

import time

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from huzhu.audit.models import AuditEvent
from huzhu.organizations.models import Role
from huzhu.organizations.security import lockout_clear
from huzhu.web.middleware import LAST_SEEN_KEY
from tests.factories import UnionFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "Lang-Secret-2026"
LOGIN = "/staff/login/"


@pytest.fixture
def second_factor_on(settings):
    settings.HUZHU_SECOND_FACTOR_ROLES = ["admin", "federation_reviewer", "federation_finance"]
    # django-otp slows down guessing (1 s, 2 s, 4 s... after each wrong code); these tests
    # type a wrong code and then the right one at once.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


@pytest.fixture
def operator(db):
    user = UserFactory(username="op_lock", role=Role.UNION_OPERATOR, union=UnionFactory())
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def admin(db):
    user = UserFactory(username="boss", role=Role.ADMIN, union=UnionFactory(), is_superuser=True)
    user.set_password(PASSWORD)
    user.save()
    return user


def _post_login(client, username, password, ip="10.0.0.5"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _code(device, offset=0):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset
    return f"{totp.token():0{device.digits}d}"


def test_five_failures_lock_the_user_out_from_that_address_with_a_chinese_page(client, operator):
    for _ in range(4):
        assert _post_login(client, "op_lock", "wrong-password").status_code == 200
    fifth = _post_login(client, "op_lock", "wrong-password")
    assert fifth.status_code == 429
    # Then even the right password is refused from that address
    locked = _post_login(client, "op_lock", PASSWORD)
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "连续 5 次登录失败，已被锁定" in page and "联系系统管理员" in page
    assert "_auth_user_id" not in client.session
    # ...but not from another address: the lock is per user name + address
    assert _post_login(client, "op_lock", PASSWORD, ip="10.0.0.9").status_code == 302
    assert AuditEvent.objects.filter(action="login.lockout", object_id="op_lock").exists()
    assert AuditEvent.objects.filter(action="login.failed", object_id="op_lock").count() >= 5


def test_an_administrator_unlocks_a_locked_out_login(client, operator, admin):
    for _ in range(5):
        _post_login(client, "op_lock", "wrong-password")
    assert _post_login(client, "op_lock", PASSWORD).status_code == 429

    assert lockout_clear(username="op_lock", acting_user=admin) >= 1

    assert _post_login(client, "op_lock", PASSWORD).status_code == 302
    event = AuditEvent.objects.get(action="login.unlock")
    assert (event.actor, event.object_id) == (admin, "op_lock")


def test_a_login_is_audited_with_its_address(client, operator):
    _post_login(client, "op_lock", PASSWORD, ip="10.1.2.3")
    event = AuditEvent.objects.get(action="login")
    assert (event.actor, event.after["ip"]) == (operator, "10.1.2.3")


def test_forwarded_for_is_ignored_unless_proxies_are_trusted(client, operator, settings):
    # A client that forges X-Forwarded-For does not escape the lockout
    for i in range(5):
        client.post(
            LOGIN,
            {"username": "op_lock", "password": "wrong"},
            REMOTE_ADDR="10.0.0.5",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{i}",
        )
    assert _post_login(client, "op_lock", PASSWORD).status_code == 429
    # Behind one trusted proxy the address the proxy saw counts
    settings.HUZHU_TRUSTED_PROXIES = 1
    ok = client.post(
        LOGIN,
        {"username": "op_lock", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.5",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert ok.status_code == 302


@pytest.mark.parametrize("door", ["/cms/login/", "/django-admin/login/"])
def test_wagtail_and_django_admin_logins_go_to_the_staff_login(client, door):
    response = client.get(door + "?next=/cms/pages/")
    assert response.status_code == 302
    assert response["Location"] == LOGIN + "?next=/cms/pages/"


def test_cms_sends_an_anonymous_visitor_to_the_staff_login(client):
    response = client.get("/cms/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN) or response["Location"].startswith("/cms/login/")


@pytest.mark.parametrize("password", ["huzhu2026", "Operator1", "password1234", "op_lock2026"])
def test_weak_passwords_are_refused(password, operator):
    with pytest.raises(ValidationError):
        validate_password(password, user=operator)


def test_a_long_uncommon_password_is_accepted(operator):
    validate_password("huzhu-demo-2026", user=operator)


def test_required_role_enrols_a_second_factor_on_first_login(client, admin, second_factor_on):
    # Given an administrator without an authenticator who typed the right password
    assert _post_login(client, "boss", PASSWORD).status_code == 302
    # When they open a staff page they are sent to the enrolment page first
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:otp_setup"))
    for gated in ("/cms/", "/django-admin/"):
        assert client.get(gated)["Location"].startswith(reverse("web:otp_setup"))
    page = client.get(response["Location"]).content.decode()
    assert "<svg" in page and "otp-secret" in page
    device = TOTPDevice.objects.get(user=admin, confirmed=False)
    # A wrong code changes nothing
    assert (
        "验证码不正确"
        in client.post(reverse("web:otp_setup"), {"token": "000000"}).content.decode()
    )
    # The right code confirms it and shows ten recovery codes once
    done = client.post(reverse("web:otp_setup"), {"token": _code(device), "next": "/staff/"})
    codes = done.context["recovery_codes"]
    assert len(codes) == 10 and all(c in done.content.decode() for c in codes)
    assert TOTPDevice.objects.get(user=admin).confirmed
    assert client.get("/staff/").status_code == 200
    assert AuditEvent.objects.filter(action="second_factor.enroll", object_id="boss").exists()


def test_enrolled_login_needs_a_code_and_a_recovery_code_works_once(
    client, admin, second_factor_on
):
    TOTPDevice.objects.create(user=admin, name="authenticator", confirmed=True)
    from huzhu.organizations.security import recovery_codes_issue

    code = recovery_codes_issue(admin)[0]
    _post_login(client, "boss", PASSWORD)
    assert client.get("/staff/")["Location"].startswith(reverse("web:otp_verify"))
    wrong = client.post(reverse("web:otp_verify"), {"token": "123456"})
    assert "验证码不正确" in wrong.content.decode()
    assert client.get("/staff/").status_code == 302
    ok = client.post(reverse("web:otp_verify"), {"token": code, "next": "/staff/"})
    assert ok.status_code == 302 and ok["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200
    assert not StaticToken.objects.filter(token=code).exists()
    # A second login cannot reuse the recovery code
    client.logout()
    _post_login(client, "boss", PASSWORD)
    again = client.post(reverse("web:otp_verify"), {"token": code})
    assert "验证码不正确" in again.content.decode()


def test_totp_code_passes_the_second_step(client, admin, second_factor_on):
    device = TOTPDevice.objects.create(user=admin, name="authenticator", confirmed=True)
    _post_login(client, "boss", PASSWORD)
    client.post(reverse("web:otp_verify"), {"token": _code(device)})
    assert client.get("/staff/").status_code == 200


def test_second_factor_is_optional_for_an_operator_until_enrolled(
    client, operator, second_factor_on
):
    _post_login(client, "op_lock", PASSWORD)
    assert client.get("/staff/").status_code == 200
    TOTPDevice.objects.create(user=operator, name="authenticator", confirmed=True)
    client.logout()
    _post_login(client, "op_lock", PASSWORD)
    assert client.get("/staff/")["Location"].startswith(reverse("web:otp_verify"))


def test_staff_session_ends_at_browser_close_and_after_30_idle_minutes(client, operator):
    _post_login(client, "op_lock", PASSWORD)
    response = client.get("/staff/")
    assert response.status_code == 200
    assert client.session.get_expire_at_browser_close()
    cookie = response.cookies.get("sessionid") or client.cookies["sessionid"]
    assert not cookie["max-age"] and not cookie["expires"]
    # When 31 minutes pass without a request
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - 31 * 60
    session.save()
    response = client.get("/staff/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert "_auth_user_id" not in client.session


def test_demo_prints_second_factor_secrets_and_recovery_codes_with_debug(
    settings, second_factor_on
):
    import io

    from django.core.management.base import OutputWrapper

    from huzhu.organizations import demo

    settings.DEBUG = True
    out = io.StringIO()
    demo.run(stdout=OutputWrapper(out))
    text = out.getvalue()
    for username in ("admin", "reviewer", "finance"):
        line = next(
            row
            for row in text.splitlines()
            if row.strip().startswith(username + " ") and "TOTP" in row
        )
        code = line.split("恢复码")[1].strip()
        assert StaticToken.objects.filter(device__user__username=username, token=code).exists()
    assert "operator" not in [row.split()[0] for row in text.splitlines() if "TOTP" in row]


def test_wrong_codes_slow_down_further_guesses(client, admin, settings):
    settings.HUZHU_SECOND_FACTOR_ROLES = ["admin"]
    device = TOTPDevice.objects.create(user=admin, name="authenticator", confirmed=True)
    _post_login(client, "boss", PASSWORD)
    client.post(reverse("web:otp_verify"), {"token": "000000"})
    # Right after a wrong code even the right code waits (django-otp throttling)
    client.post(reverse("web:otp_verify"), {"token": _code(device)})
    assert client.get("/staff/").status_code == 302
