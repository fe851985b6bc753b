"""Member list and detail through the real views: scope, masking, reveal, correction, withdrawal."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from huzhu.audit.models import AuditEvent
from huzhu.enrollment.models import Enrollment
from huzhu.members.models import Member
from tests.factories import EnrollmentFactory, MemberFactory, SchemeYearFactory

pytestmark = pytest.mark.django_db


def _member(union, **kwargs):
    member = MemberFactory(union=union, **kwargs)
    member.bank_account = "6228480329123456789"
    member.bank_name = "中国农业银行嵊州支行"
    member.save()
    return member


# --- scope ---------------------------------------------------------------------------------


def test_union_a_operator_gets_404_on_a_union_b_member(login, operator_a, tree):
    # Given a member of union B
    other = _member(tree["b"])
    client = login(operator_a)
    # Then every member page of union A's operator answers 404, as for a missing member
    assert client.get(reverse("web:member_detail", args=[other.pk])).status_code == 404
    assert (
        client.post(
            reverse("web:member_reveal", args=[other.pk]), {"field": "id_number"}
        ).status_code
        == 404
    )
    assert (
        client.post(
            reverse("web:member_edit", args=[other.pk]), {"name": "改名", "phone": ""}
        ).status_code
        == 404
    )
    assert client.get(reverse("web:member_detail", args=[999999])).status_code == 404
    assert not AuditEvent.objects.filter(object_id=str(other.pk)).exists()
    other.refresh_from_db()
    assert other.name != "改名"


def test_operator_sees_own_union_and_its_descendants_in_the_list(
    login, operator_town, operator_a, tree
):
    in_a = _member(tree["a"], name="甲一")
    in_a2 = _member(tree["a2"], name="乙一")
    in_b = _member(tree["b"], name="丙一")

    town_page = login(operator_town).get(reverse("web:member_list")).content.decode()
    assert in_a.name in town_page and in_a2.name in town_page
    assert in_b.name not in town_page

    a_page = login(operator_a).get(reverse("web:member_list")).content.decode()
    assert in_a.name in a_page
    assert in_a2.name not in a_page and in_b.name not in a_page


def test_operator_of_a_parent_union_opens_a_descendants_member(login, operator_town, tree):
    member = _member(tree["a2"])
    assert (
        login(operator_town).get(reverse("web:member_detail", args=[member.pk])).status_code == 200
    )


def test_operator_cannot_filter_by_an_out_of_scope_union(login, operator_a, tree):
    _member(tree["b"], name="丙二")
    response = login(operator_a).get(reverse("web:member_list"), {"union": tree["b"].pk})
    assert "丙二" not in response.content.decode()


def test_federation_reviewer_sees_every_union(login, reviewer, tree):
    a, b = _member(tree["a"], name="甲三"), _member(tree["b"], name="丙三")
    page = login(reviewer).get(reverse("web:member_list")).content.decode()
    assert a.name in page and b.name in page


# --- list ----------------------------------------------------------------------------------


def test_list_shows_masked_id_and_masked_bank_account_only(login, operator_a, tree):
    member = _member(tree["a"])
    page = login(operator_a).get(reverse("web:member_list")).content.decode()
    assert member.id_number_masked in page
    assert member.id_number not in page
    assert "**** **** **** 6789" in page
    assert "6228480329123456789" not in page


def test_list_searches_by_name(login, operator_a, tree):
    _member(tree["a"], name="张三丰")
    _member(tree["a"], name="李四")
    page = login(operator_a).get(reverse("web:member_list"), {"q": "张三"}).content.decode()
    assert "张三丰" in page and "李四" not in page


def test_list_searches_by_masked_id_as_shown(login, operator_a, tree):
    wanted = _member(tree["a"], name="王五")
    _member(tree["a"], name="赵六")
    response = login(operator_a).get(reverse("web:member_list"), {"q": wanted.id_number_masked})
    page = response.content.decode()
    assert "王五" in page and "赵六" not in page


def test_list_filters_by_union_and_year(login, reviewer, tree):
    y2025, y2026 = SchemeYearFactory(year=2025), SchemeYearFactory(year=2026)
    both = _member(tree["a"], name="两年都参保")
    only_2025 = _member(tree["a"], name="只有二五")
    elsewhere = _member(tree["b"], name="别的工会")
    EnrollmentFactory(member=both, scheme_year=y2025)
    EnrollmentFactory(member=both, scheme_year=y2026)
    EnrollmentFactory(member=only_2025, scheme_year=y2025)
    EnrollmentFactory(member=elsewhere, scheme_year=y2026)

    client = login(reviewer)
    page = client.get(
        reverse("web:member_list"), {"union": tree["a"].pk, "year": 2026}
    ).content.decode()
    assert "两年都参保" in page
    assert "只有二五" not in page and "别的工会" not in page


def test_list_is_paginated(login, operator_a, tree):
    for i in range(55):
        MemberFactory(union=tree["a"], name=f"分页{i:02d}")
    client = login(operator_a)
    first = client.get(reverse("web:member_list")).content.decode()
    assert "共 55 人" in first
    assert "第 1 / 2 页" in first
    second = client.get(reverse("web:member_list"), {"page": 2})
    assert "第 2 / 2 页" in second.content.decode()
    assert len(second.context["page"].object_list) == 5


# --- detail --------------------------------------------------------------------------------


def test_detail_shows_enrollments_with_renewal_and_coverage_start(login, operator_a, tree):
    # Given a member enrolled in 2025 and again in 2026 (renewal), and a new member in 2026
    y2025 = SchemeYearFactory(year=2025, waiting_period_days=90)
    y2026 = SchemeYearFactory(year=2026, waiting_period_days=90)
    renewed = _member(tree["a"])
    EnrollmentFactory(member=renewed, scheme_year=y2025, enrolled_on=dt.date(2024, 11, 1))
    EnrollmentFactory(member=renewed, scheme_year=y2026, enrolled_on=dt.date(2025, 11, 20))
    newcomer = _member(tree["a"])
    EnrollmentFactory(member=newcomer, scheme_year=y2026, enrolled_on=dt.date(2026, 3, 1))
    client = login(operator_a)

    page = client.get(reverse("web:member_detail", args=[renewed.pk])).content.decode()
    # renewal: covered from the scheme year's start; new (2025): enrolled_on + 90 days
    assert "续保" in page and "2026-01-01" in page
    assert "2025-01-30" in page  # 2024-11-01 + 90 days

    page = client.get(reverse("web:member_detail", args=[newcomer.pk])).content.decode()
    assert "新参保" in page
    assert "2026-05-30" in page  # 2026-03-01 + 90 days
    assert newcomer.id_number not in page


def test_reveal_shows_the_id_number_and_writes_an_audit_event(login, operator_a, tree):
    member = _member(tree["a"])
    client = login(operator_a)
    response = client.post(reverse("web:member_reveal", args=[member.pk]), {"field": "id_number"})
    assert response.status_code == 200
    assert member.id_number in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    event = AuditEvent.objects.get(object_id=str(member.pk))
    assert event.actor == operator_a
    assert "reveal" in event.action


def test_reveal_of_bank_account_is_audited_and_shows_the_account(login, operator_a, tree):
    member = _member(tree["a"])
    response = login(operator_a).post(
        reverse("web:member_reveal", args=[member.pk]), {"field": "bank_account"}
    )
    assert "6228480329123456789" in response.content.decode()
    assert AuditEvent.objects.filter(object_id=str(member.pk), actor=operator_a).count() == 1


def test_reveal_is_refused_for_a_role_without_the_right_and_not_logged(login, reviewer, tree):
    member = _member(tree["a"])
    response = login(reviewer).post(
        reverse("web:member_reveal", args=[member.pk]), {"field": "bank_account"}
    )
    assert response.status_code == 403
    assert "6228480329123456789" not in response.content.decode()
    assert not AuditEvent.objects.filter(object_id=str(member.pk)).exists()


def test_reveal_needs_post(login, operator_a, tree):
    member = _member(tree["a"])
    response = login(operator_a).get(reverse("web:member_reveal", args=[member.pk]))
    assert response.status_code == 405
    assert not AuditEvent.objects.exclude(action="login").exists()


def test_detail_page_alone_writes_no_audit_event(login, operator_a, tree):
    member = _member(tree["a"])
    login(operator_a).get(reverse("web:member_detail", args=[member.pk]))
    assert not AuditEvent.objects.exclude(action="login").exists()


def test_operator_corrects_details_and_the_change_is_audited(login, operator_a, tree):
    member = _member(tree["a"], name="错名", phone="13800000000")
    response = login(operator_a).post(
        reverse("web:member_edit", args=[member.pk]),
        {"name": "正名", "phone": "13911112222", "bank_name": member.bank_name, "bank_account": ""},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.name, member.phone) == ("正名", "13911112222")
    assert member.bank_account == "6228480329123456789"  # blank account field keeps it
    event = AuditEvent.objects.get(object_id=str(member.pk))
    assert event.actor == operator_a
    assert event.before["name"] == "错名" and event.after["name"] == "正名"


def test_correction_with_a_bad_phone_is_refused_with_a_message(login, operator_a, tree):
    member = _member(tree["a"], phone="13800000000")
    response = login(operator_a).post(
        reverse("web:member_edit", args=[member.pk]),
        {"name": member.name, "phone": "12345", "bank_name": "", "bank_account": ""},
    )
    assert response.status_code == 400
    member.refresh_from_db()
    assert member.phone == "13800000000"
    assert not AuditEvent.objects.exclude(action="login").exists()


def test_reviewer_may_not_correct_details(login, reviewer, tree):
    member = _member(tree["a"], name="原名")
    response = login(reviewer).post(
        reverse("web:member_edit", args=[member.pk]), {"name": "新名", "phone": ""}
    )
    assert response.status_code == 403
    member.refresh_from_db()
    assert member.name == "原名"


# --- withdrawal ----------------------------------------------------------------------------


def _future_year():
    next_year = timezone.localdate().year + 1
    return SchemeYearFactory(year=next_year)


def test_operator_withdraws_an_enrollment_before_its_year_starts(login, operator_a, tree):
    enrollment = EnrollmentFactory(member=_member(tree["a"]), scheme_year=_future_year())
    client = login(operator_a)
    detail = client.get(reverse("web:member_detail", args=[enrollment.member_id])).content
    assert reverse("web:enrollment_withdraw", args=[enrollment.pk]).encode() in detail

    response = client.post(
        reverse("web:enrollment_withdraw", args=[enrollment.pk]), {"reason": "已离职"}
    )
    assert response.status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.withdrawn_at is not None
    event = AuditEvent.objects.get(object_type="enrollment.enrollment")
    assert event.reason == "已离职" and event.actor == operator_a


def test_withdrawal_needs_a_reason(login, operator_a, tree):
    enrollment = EnrollmentFactory(member=_member(tree["a"]), scheme_year=_future_year())
    response = login(operator_a).post(
        reverse("web:enrollment_withdraw", args=[enrollment.pk]), {"reason": "   "}
    )
    assert response.status_code == 400
    enrollment.refresh_from_db()
    assert enrollment.withdrawn_at is None
    assert not AuditEvent.objects.exclude(action="login").exists()


def test_withdrawal_after_the_year_started_is_refused(login, operator_a, tree):
    this_year = timezone.localdate().year
    enrollment = EnrollmentFactory(
        member=_member(tree["a"]), scheme_year=SchemeYearFactory(year=this_year)
    )
    response = login(operator_a).post(
        reverse("web:enrollment_withdraw", args=[enrollment.pk]), {"reason": "已离职"}, follow=True
    )
    assert "无法退保" in response.content.decode()
    enrollment.refresh_from_db()
    assert enrollment.withdrawn_at is None


def test_operator_cannot_withdraw_another_unions_enrollment(login, operator_a, tree):
    enrollment = EnrollmentFactory(member=_member(tree["b"]), scheme_year=_future_year())
    response = login(operator_a).post(
        reverse("web:enrollment_withdraw", args=[enrollment.pk]), {"reason": "x"}
    )
    assert response.status_code == 404
    assert Enrollment.objects.get(pk=enrollment.pk).withdrawn_at is None


# --- union tree ----------------------------------------------------------------------------


def test_union_tree_is_whole_for_federation_staff_and_a_subtree_for_an_operator(
    login, reviewer, operator_town, tree
):
    whole = login(reviewer).get(reverse("web:union_tree")).content.decode()
    for union in tree.values():
        assert union.name in whole

    subtree = login(operator_town).get(reverse("web:union_tree")).content.decode()
    assert all(tree[k].name in subtree for k in ("town", "a", "a2"))
    assert tree["b"].name not in subtree
    assert tree["fed"].name not in subtree.split("<main>")[1]


def test_union_tree_counts_members_of_the_subtree(login, reviewer, tree):
    SchemeYearFactory(year=timezone.localdate().year)
    for _ in range(3):
        MemberFactory(union=tree["a"])
    MemberFactory(union=tree["a2"])
    page = login(reviewer).get(reverse("web:union_tree"))
    rows = {r.union.code: r for r in page.context["rows"]}
    assert rows["WA"].members == 3
    assert rows["T01"].subtree_members == 4
    assert rows["F000"].subtree_members == Member.objects.count()


def test_correction_form_never_contains_the_clear_id_or_account(login, operator_a, tree):
    member = _member(tree["a"])
    page = login(operator_a).get(reverse("web:member_detail", args=[member.pk])).content.decode()
    assert member.id_number not in page
    assert "6228480329123456789" not in page


def test_operator_corrects_a_mistyped_id_number(login, operator_a, tree):
    from tests.factories import make_id_number

    member = _member(tree["a"])
    right = make_id_number(dt.date(1985, 6, 15), female=True)
    response = login(operator_a).post(
        reverse("web:member_edit", args=[member.pk]),
        {"name": member.name, "id_number": right, "phone": member.phone},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.id_number == right
    assert member.birth_date == dt.date(1985, 6, 15) and member.sex == "female"


def test_history_lists_corrections_and_withdrawals(login, operator_a, tree):
    member = _member(tree["a"], phone="13800000000")
    enrollment = EnrollmentFactory(member=member, scheme_year=_future_year())
    client = login(operator_a)
    client.post(
        reverse("web:member_edit", args=[member.pk]),
        {"name": member.name, "phone": "13911112222"},
    )
    client.post(reverse("web:enrollment_withdraw", args=[enrollment.pk]), {"reason": "重复登记"})
    page = client.get(reverse("web:member_detail", args=[member.pk])).content.decode()
    assert "手机号：138****0000 → 139****2222" in page
    assert "重复登记" in page


def test_detail_lists_history_written_without_a_user(login, operator_a, tree):
    # Given an event the platform wrote (a command-line import or a task: no actor)
    from huzhu.audit.services import audit_record

    member = _member(tree["a"])
    audit_record(actor=None, action="member.update", obj=member, after={"phone": "x"})
    # Then the detail page lists it, with the platform as the actor
    response = login(operator_a).get(reverse("web:member_detail", args=[member.pk]))
    assert response.status_code == 200
    assert "平台" in response.content.decode()
