"""Member corrections and reveals (audited), the scoped list and the scoped fetch."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from huzhu.audit.models import AuditEvent
from huzhu.members.models import Member
from huzhu.members.selectors import access_member_by_id, member_list
from huzhu.members.services import member_reveal, member_update
from huzhu.organizations.models import Role, UnionKind
from tests.enrollment.helpers import id_number
from tests.factories import (
    EnrollmentFactory,
    MemberFactory,
    SchemeYearFactory,
    UnionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    fed = UnionFactory(code="F", kind=UnionKind.FEDERATION)
    town = UnionFactory(code="T", kind=UnionKind.TOWNSHIP, parent=fed)
    a = UnionFactory(code="A", parent=town)
    b = UnionFactory(code="B", parent=fed)
    return fed, town, a, b


def test_operator_of_union_a_gets_404_on_a_union_b_member(tree):
    _fed, _town, a, b = tree
    operator = UserFactory(union=a)
    mine, theirs = MemberFactory(union=a), MemberFactory(union=b)
    assert access_member_by_id(operator, mine.pk) == mine
    with pytest.raises(Http404):
        access_member_by_id(operator, theirs.pk)
    with pytest.raises(Http404):
        access_member_by_id(operator, 999_999)  # missing looks the same as not yours
    reviewer = UserFactory(union=_fed, role=Role.FEDERATION_REVIEWER)
    assert access_member_by_id(reviewer, theirs.pk) == theirs


def test_member_list_is_scoped_and_searchable(tree):
    _fed, town, a, b = tree
    zhang = MemberFactory(union=a, name="张三", id_number=id_number(date(1971, 3, 4)))
    MemberFactory(union=a, name="李四")
    wang = MemberFactory(union=b, name="王五")
    town_operator = UserFactory(union=town)

    assert set(member_list(user=town_operator)) == {zhang, Member.objects.get(name="李四")}
    assert list(member_list(user=town_operator, q="张")) == [zhang]
    assert list(member_list(user=town_operator, q=zhang.id_number[-4:])) == [zhang]
    assert list(member_list(user=town_operator, q="330683")) != []
    masked = zhang.id_number[:6] + "********" + zhang.id_number[-4:]
    assert list(member_list(user=town_operator, q=masked)) == [zhang]
    assert list(member_list(user=town_operator, q=zhang.id_number)) == [zhang]
    assert list(member_list(user=town_operator, q="王五")) == []  # outside the scope
    admin = UserFactory(union=None, role=Role.ADMIN)
    assert list(member_list(user=admin, q="王五")) == [wang]


def test_member_list_filters_by_union_subtree_and_year(tree):
    _fed, town, a, b = tree
    admin = UserFactory(union=None, role=Role.ADMIN)
    last, this = SchemeYearFactory(year=2025), SchemeYearFactory(year=2026)
    moved = MemberFactory(union=b, name="转出")
    EnrollmentFactory(member=moved, scheme_year=last, union=a)
    EnrollmentFactory(member=moved, scheme_year=this, union=b)
    stayed = MemberFactory(union=a, name="留下")
    EnrollmentFactory(member=stayed, scheme_year=this, union=a)

    assert list(member_list(user=admin, union_id=town.id)) == [stayed]  # current union
    assert set(member_list(user=admin, year=2026)) == {moved, stayed}
    assert list(member_list(user=admin, union_id=a.id, year=2025)) == [moved]
    assert list(member_list(user=admin, union_id=a.id, year=2026)) == [stayed]


def test_member_update_normalises_saves_and_audits_masked(tree):
    _fed, _town, a, _b = tree
    operator = UserFactory(union=a)
    member = MemberFactory(union=a, name="张三", phone="13800000000")
    member.bank_account = "6222020000000000001"
    member.save()

    updated = member_update(
        member=member,
        acting_user=operator,
        name=" 张  三丰 ",
        phone="139 1234 5678",
        bank_account="6222 0299 9999 9999 999",
    )

    assert (updated.name, updated.phone) == ("张三丰", "13912345678")
    assert Member.objects.get(pk=member.pk).bank_account == "6222029999999999999"
    event = AuditEvent.objects.get(action="member.update")
    assert event.actor == operator
    assert event.before == {
        "name": "张三",
        "phone": "138****0000",
        "bank_account": "**** **** **** 0001",
    }
    assert event.after["bank_account"] == "**** **** **** 9999"
    assert event.after["phone"] == "139****5678"
    assert "6222029999999999999" not in str(event.after)
    assert "13912345678" not in str(event.after)


def test_member_update_without_changes_writes_nothing(tree):
    member = MemberFactory(union=tree[2], name="张三")
    member_update(member=member, acting_user=UserFactory(union=tree[2]), name="张三")
    assert not AuditEvent.objects.exists()


def test_member_update_corrects_the_id_number_and_rederives_sex_and_birth(tree):
    member = MemberFactory(union=tree[2])
    new = id_number(date(1990, 2, 3), female=True)
    member_update(member=member, acting_user=UserFactory(union=tree[2]), id_number=new)
    member.refresh_from_db()
    assert (member.id_number, member.sex, member.birth_date) == (new, "female", date(1990, 2, 3))


def test_member_update_refuses_bad_values_by_field(tree):
    member = MemberFactory(union=tree[2])
    taken = MemberFactory(union=tree[2]).id_number
    with pytest.raises(ValidationError) as exc:
        member_update(
            member=member,
            acting_user=UserFactory(union=tree[2]),
            phone="12345",
            name="",
            bank_account="3.30683E+17",
        )
    errors = exc.value.error_dict
    assert errors["phone"][0].code == "bad_phone"
    assert errors["name"][0].code == "missing_name"
    assert errors["bank_account"][0].code == "excel_mangled"
    with pytest.raises(ValidationError) as exc:
        member_update(member=member, acting_user=UserFactory(union=tree[2]), id_number=taken)
    assert exc.value.error_dict["id_number"][0].code == "id_number_taken"
    with pytest.raises(TypeError):
        member_update(member=member, acting_user=UserFactory(union=tree[2]), union=tree[3])


def test_member_update_and_reveal_are_scoped(tree):
    member = MemberFactory(union=tree[3])
    stranger = UserFactory(union=tree[2])
    with pytest.raises(PermissionDenied):
        member_update(member=member, acting_user=stranger, phone="13912345678")
    with pytest.raises(PermissionDenied):
        member_reveal(member=member, field="id_number", acting_user=stranger)


def test_reveal_returns_the_clear_value_and_is_audited(tree):
    operator = UserFactory(union=tree[2])
    member = MemberFactory(union=tree[2])
    member.bank_account = "6222021234567890123"
    member.save()
    assert member_reveal(member=member, field="bank_account", acting_user=operator) == (
        "6222021234567890123"
    )
    assert member_reveal(member=member, field="id_number", acting_user=operator) == member.id_number
    events = AuditEvent.objects.filter(action="reveal", object_id=str(member.pk))
    assert sorted(e.after["field"] for e in events) == ["bank_account", "id_number"]
    assert all(e.actor == operator for e in events)
    assert member_reveal(member=member, field="phone", acting_user=operator) == member.phone
    assert AuditEvent.objects.filter(action="reveal", after__field="phone").count() == 1
    with pytest.raises(ValueError):
        member_reveal(member=member, field="name", acting_user=operator)
