"""Staff accounts page (/staff/accounts/) and `huzhu staff`: create, change, disable, reset,
unlock; administrators only; every change audited."""

import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from huzhu.audit.models import AuditEvent
from huzhu.organizations.models import Role, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(tree):
    return UserFactory(username="root", role=Role.ADMIN, union=tree["fed"], is_superuser=True)


def _form(tree, **overrides):
    data = {
        "username": "newop",
        "first_name": "新经办人",
        "role": Role.UNION_OPERATOR,
        "union": tree["a"].pk,
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("who", ["operator_a", "reviewer", "finance", "editor"])
def test_only_administrators_open_the_accounts_page(request, login, who):
    client = login(request.getfixturevalue(who))
    assert client.get(reverse("web:account_list")).status_code == 403
    assert client.post(reverse("web:account_create"), {}).status_code == 403


def test_admin_creates_a_login_with_role_and_union_and_sees_its_password_once(login, admin, tree):
    client = login(admin)
    response = client.post(reverse("web:account_create"), _form(tree))
    assert response.status_code == 200
    password = response.context["password"]
    assert len(password) >= 10 and password in response.content.decode()
    user = User.objects.get(username="newop")
    assert (user.role, user.union, user.first_name) == (Role.UNION_OPERATOR, tree["a"], "新经办人")
    assert user.check_password(password) and not user.is_superuser
    event = AuditEvent.objects.get(action="staff.create")
    assert (event.actor, event.object_id, event.after["role"]) == (admin, "newop", "union_operator")
    assert password not in json.dumps(event.after)
    # The new login works with that password
    client.logout()
    assert (
        client.post("/staff/login/", {"username": "newop", "password": password}).status_code == 302
    )


def test_federation_roles_must_belong_to_the_federation(login, admin, tree):
    response = login(admin).post(
        reverse("web:account_create"), _form(tree, role=Role.FEDERATION_FINANCE)
    )
    assert response.status_code == 200
    assert "应属于总工会" in response.content.decode()
    assert not User.objects.filter(username="newop").exists()


def test_duplicate_username_is_refused(login, admin, tree, operator_a):
    response = login(admin).post(reverse("web:account_create"), _form(tree, username="OP_A"))
    assert "已被使用" in response.content.decode()


def test_role_change_and_disable_are_audited(login, admin, tree, operator_a):
    client = login(admin)
    url = reverse("web:account_edit", args=[operator_a.pk])
    data = _form(tree, username="op_a", role=Role.FEDERATION_REVIEWER, union=tree["fed"].pk)
    data["is_active"] = "on"
    assert client.post(url, data).status_code == 302
    operator_a.refresh_from_db()
    assert operator_a.role == Role.FEDERATION_REVIEWER
    change = AuditEvent.objects.get(action="staff.role_change")
    assert (
        change.before["role"] == "union_operator" and change.after["role"] == "federation_reviewer"
    )
    data.pop("is_active")
    client.post(url, data)
    operator_a.refresh_from_db()
    assert not operator_a.is_active
    assert AuditEvent.objects.filter(action="staff.disable", object_id="op_a").exists()


def test_disabled_login_cannot_log_in_and_its_session_ends(client, admin, tree, operator_a):
    from huzhu.organizations.accounts import staff_account_disable

    client.force_login(operator_a)
    assert client.get("/staff/").status_code == 200
    staff_account_disable(acting_user=admin, user=operator_a)
    assert client.get("/staff/").status_code == 302


def test_admin_cannot_disable_or_demote_itself(login, admin, tree):
    data = _form(tree, username="root", role=Role.FEDERATION_REVIEWER, union=tree["fed"].pk)
    response = login(admin).post(reverse("web:account_edit", args=[admin.pk]), data)
    assert "不能停用自己" in response.content.decode()
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN


def test_password_reset_shows_a_new_password_and_is_audited(login, admin, operator_a):
    response = login(admin).post(reverse("web:account_password_reset", args=[operator_a.pk]))
    password = response.context["password"]
    operator_a.refresh_from_db()
    assert operator_a.check_password(password)
    assert AuditEvent.objects.filter(action="staff.password_reset", object_id="op_a").exists()
    assert response["Cache-Control"].startswith("max-age=0")


def test_second_factor_reset_removes_devices_and_is_audited(login, admin, operator_a):
    TOTPDevice.objects.create(user=operator_a, name="authenticator", confirmed=True)
    login(admin).post(reverse("web:account_second_factor_reset", args=[operator_a.pk]))
    assert not TOTPDevice.objects.filter(user=operator_a).exists()
    assert AuditEvent.objects.get(action="second_factor.reset").actor == admin


def test_page_shows_a_lockout_and_the_admin_unlocks_it(client, admin, tree):
    user = UserFactory(username="locked1", role=Role.UNION_OPERATOR, union=tree["a"])
    for _ in range(5):
        client.post(
            "/staff/login/", {"username": "locked1", "password": "bad"}, REMOTE_ADDR="10.9.9.9"
        )
    client.force_login(admin)
    page = client.get(reverse("web:account_list")).content.decode()
    assert "已锁定" in page and "10.9.9.9" in page
    client.post(reverse("web:account_unlock", args=[user.pk]))
    assert "10.9.9.9" not in client.get(reverse("web:account_list")).content.decode()
    assert AuditEvent.objects.filter(action="login.unlock", actor=admin).exists()


def test_staff_changes_own_password_under_the_rules(login, operator_a):
    client = login(operator_a)
    url = reverse("web:password_change")
    weak = client.post(
        url, {"old_password": "pw-123456", "new_password1": "short", "new_password2": "short"}
    )
    assert weak.status_code == 200 and "10" in weak.content.decode()
    new = "Sturdy-Horse-2026"
    ok = client.post(url, {"old_password": "pw-123456", "new_password1": new, "new_password2": new})
    assert ok.status_code == 302
    operator_a.refresh_from_db()
    assert operator_a.check_password(new)
    assert AuditEvent.objects.filter(action="password.change", object_id="op_a").exists()


def test_staff_command_creates_and_disables_a_login(tree):
    out = io.StringIO()
    call_command(
        "staff",
        "create",
        "cli_fin",
        "--role",
        "federation_finance",
        "--union",
        "F000",
        "--name",
        "财务甲",
        stdout=out,
    )
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary == {
        "username": "cli_fin",
        "role": "federation_finance",
        "union": "F000",
        "active": True,
    }
    password = out.getvalue().split("仅显示这一次）: ")[1].splitlines()[0]
    user = User.objects.get(username="cli_fin")
    assert user.check_password(password)
    out = io.StringIO()
    call_command("staff", "disable", "cli_fin", "--reason", "离职", stdout=out)
    user.refresh_from_db()
    assert not user.is_active
    event = AuditEvent.objects.get(action="staff.disable")
    assert (event.actor, event.reason) == (None, "离职")


def test_staff_command_refuses_a_member_role_and_an_unknown_union(tree):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("staff", "create", "x", "--role", "member", "--union", "F000")
    with pytest.raises(CommandError) as exc:
        call_command("staff", "create", "x", "--role", "auditor", "--union", "NOPE")
    assert exc.value.returncode == 2
