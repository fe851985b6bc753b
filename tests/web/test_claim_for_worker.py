"""Claiming for a worker: found by name or ID number, the member's page lists their claims
with a 代为申请 button; claim lists and review queues search by name and ID number."""

import pytest
from django.urls import reverse

from huzhu.members.models import Member
from tests.factories import ClaimFactory, EnrollmentFactory, MemberFactory, make_id_number

pytestmark = pytest.mark.django_db


def _claim(union, name, id_number=None, **kwargs):
    member = MemberFactory(union=union, name=name, id_number=id_number or make_id_number())
    return ClaimFactory(enrollment=EnrollmentFactory(member=member, union=union), **kwargs)


def test_file_claim_page_finds_the_worker_by_name_or_id_without_an_internal_number(
    login, operator_a, tree
):
    mine = _claim(tree["a"], "周晓梅").member
    _claim(tree["b"], "周晓兰")  # another union's member: never offered
    client = login(operator_a)
    page = client.get(reverse("web:review_file_claim")).content.decode()
    assert "职工编号" not in page and "姓名或身份证号" in page
    for q in ("周晓", mine.id_number, mine.id_number_masked, mine.id_number[-4:]):
        found = client.get(reverse("web:review_file_claim"), {"q": q}).content.decode()
        assert f"?member={mine.pk}" in found and "代为申请" in found, q
        assert "周晓兰" not in found
    form = client.get(reverse("web:review_file_claim"), {"member": mine.pk}).content.decode()
    assert "周晓梅" in form and 'name="hospital_name"' in form


def test_member_page_lists_their_claims_and_offers_to_claim_for_them(
    login, operator_a, reviewer, tree
):
    claim = _claim(tree["a"], "吴建国", status="approved")
    draft = ClaimFactory(enrollment=claim.enrollment, status="draft")
    url = reverse("web:member_detail", args=[claim.member_id])
    page = login(operator_a).get(url).content.decode()
    assert claim.number in page and draft.number not in page
    file_url = reverse("web:review_file_claim") + f"?member={claim.member_id}"
    assert f'id="file-for-member" href="{file_url}"' in page
    # a federation reviewer sees the claims, but does not file for workers
    page = login(reviewer).get(url).content.decode()
    assert claim.number in page and 'id="file-for-member"' not in page


def test_claim_list_and_review_queue_search_by_name_and_id_number(login, reviewer, tree):
    a = _claim(tree["a"], "郑海燕", filer="union_operator")
    b = _claim(tree["b"], "孙志强", filer="union_operator")
    client = login(reviewer)
    member_a = Member.objects.get(pk=a.member_id)
    for q in ("海燕", member_a.id_number, member_a.id_number_masked):
        listing = client.get(reverse("web:claim_list"), {"q": q}).content.decode()
        assert a.number in listing and b.number not in listing, q
        queue = client.get(reverse("web:review_queue"), {"q": q}).content.decode()
        assert a.number in queue and b.number not in queue, q
