"""Audit viewer (/staff/audit/): administrators and auditors read, filter and export the
audit trail; nobody deletes or rewrites it."""

import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from python_calamine import CalamineWorkbook

from huzhu.audit.models import AuditEvent
from huzhu.audit.services import audit_record
from huzhu.organizations.models import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor(tree):
    return UserFactory(username="aud", role=Role.AUDITOR, union=tree["fed"])


@pytest.fixture
def admin(tree):
    return UserFactory(username="root", role=Role.ADMIN, union=tree["fed"], is_superuser=True)


@pytest.fixture
def events(operator_a, reviewer):
    audit_record(
        actor=operator_a,
        action="reveal",
        object_type="members.member",
        object_id=7,
        after={"field": "id_number"},
    )
    audit_record(
        actor=reviewer,
        action="fee_statement.download",
        object_type="organizations.union",
        object_id=3,
    )
    audit_record(
        actor=None,
        action="login.lockout",
        object_type="organizations.user",
        object_id="op_a",
        after={"ip": "10.0.0.1"},
    )
    audit_record(
        actor=reviewer,
        action="staff.role_change",
        object_type="organizations.user",
        object_id="op_b",
        before={"role": "union_operator"},
        after={"role": "federation_reviewer"},
    )


@pytest.mark.parametrize("who", ["operator_a", "reviewer", "finance", "editor"])
def test_only_admins_and_auditors_open_the_audit_trail(request, login, who):
    client = login(request.getfixturevalue(who))
    assert client.get(reverse("web:audit_list")).status_code == 403
    assert client.get(reverse("web:audit_export")).status_code == 403


def test_auditor_reads_the_trail_and_nothing_else(login, auditor, events):
    client = login(auditor)
    page = client.get(reverse("web:audit_list")).content.decode()
    assert "查看完整身份证号/银行账号" in page and "登录锁定" in page and "角色/工会变更" in page
    assert client.get(reverse("web:member_list")).status_code == 403
    assert client.get(reverse("web:account_list")).status_code == 403
    assert client.get(reverse("web:payment_queue")).status_code == 403


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"who": "op_a"}, {"reveal"}),
        ({"action": "reveal"}, {"reveal"}),
        ({"action": "export"}, {"fee_statement.download"}),
        ({"action": "login"}, {"login.lockout"}),
        ({"action": "accounts"}, {"staff.role_change"}),
        ({"object": "members.member:7"}, {"reveal"}),
        ({"object": "op_b"}, {"staff.role_change"}),
    ],
)
def test_filters_by_who_what_and_object(login, admin, events, query, expected):
    response = login(admin).get(reverse("web:audit_list"), query)
    shown = {row["event"].action for row in response.context["rows"]}
    assert shown - {"login"} == expected


def test_filters_by_time(login, admin, events):
    today = timezone.localdate()
    client = login(admin)
    assert len(client.get(reverse("web:audit_list"), {"since": today}).context["rows"]) >= 4
    yesterday = today - dt.timedelta(days=1)
    assert client.get(reverse("web:audit_list"), {"until": yesterday}).context["rows"] == []


def test_export_is_an_xlsx_of_the_filtered_rows_and_is_itself_audited(login, auditor, events):
    response = login(auditor).get(reverse("web:audit_export"), {"action": "reveal"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = (
        CalamineWorkbook.from_filelike(io.BytesIO(response.content))
        .get_sheet_by_index(0)
        .to_python()
    )
    assert rows[0][:3] == ["时间", "操作人", "操作"]
    assert [r[3] for r in rows[1:]] == ["reveal"]
    assert rows[1][1] == "op_a" and "id_number" in rows[1][7]
    export = AuditEvent.objects.get(action="audit.export")
    assert export.actor == auditor and export.after["rows"] == 1


def test_audit_rows_cannot_be_deleted_or_rewritten(events):
    with pytest.raises(RuntimeError):
        AuditEvent.objects.all().delete()
    with pytest.raises(RuntimeError):
        AuditEvent.objects.filter(action="reveal").update(reason="x")
    event = AuditEvent.objects.first()
    with pytest.raises(RuntimeError):
        event.delete()
    assert AuditEvent.objects.count() == 4


def test_a_member_login_is_found_by_its_phone_and_shown_masked(login, admin):
    member_login = UserFactory(username="m0123456789abcdef", role=Role.MEMBER, union=None)
    member_login.phone = "13912345678"
    member_login.save()
    audit_record(actor=member_login, action="consent.accept", object_type="members.member")
    page = login(admin).get(reverse("web:audit_list"), {"who": "13912345678"})
    assert [row["event"].action for row in page.context["rows"]] == ["consent.accept"]
    assert 'm0123456789abcdef</a> <span class="small muted">职工 139****5678' in (
        page.content.decode()
    )
