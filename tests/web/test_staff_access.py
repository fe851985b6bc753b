"""Role gate of the staff pages: anonymous -> login, members -> 403, each role its pages."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from huzhu.organizations.models import Role
from huzhu.web.permissions import staff_required
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

STAFF_PAGES = [
    "web:dashboard",
    "web:union_tree",
    "web:member_list",
    "web:enrollment_import",
    "web:fee_statements",
]


@pytest.mark.parametrize("name", STAFF_PAGES)
def test_anonymous_is_sent_to_the_login_page(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))
    assert "next=" in response["Location"]


@pytest.mark.parametrize("name", STAFF_PAGES)
def test_a_member_account_cannot_open_staff_pages(login, member_user, name):
    response = login(member_user).get(reverse(name))
    assert response.status_code == 403
    assert "无权访问".encode() in response.content


def test_a_member_account_cannot_open_a_member_detail_even_of_itself(login, member_user, tree):
    member = MemberFactory(union=tree["a"], user=member_user)
    response = login(member_user).get(reverse("web:member_detail", args=[member.pk]))
    assert response.status_code == 403


def test_portal_editor_has_a_dashboard_but_no_member_data(login, editor):
    client = login(editor)
    assert client.get(reverse("web:dashboard")).status_code == 200
    assert client.get(reverse("web:member_list")).status_code == 403
    assert client.get(reverse("web:enrollment_import")).status_code == 403


@pytest.mark.parametrize("name", STAFF_PAGES)
def test_union_operator_opens_every_page_of_the_foundation(login, operator_a, name):
    assert login(operator_a).get(reverse(name)).status_code == 200


def test_nav_shows_only_the_pages_the_role_may_open(login, editor, operator_a):
    editor_page = login(editor).get(reverse("web:dashboard")).content.decode()
    assert reverse("web:member_list") not in editor_page
    operator_page = login(operator_a).get(reverse("web:dashboard")).content.decode()
    for name in STAFF_PAGES:
        assert reverse(name) in operator_page


def test_staff_required_refuses_an_unknown_role_name():
    with pytest.raises(ValueError):
        staff_required("no_such_role")


def test_staff_required_accepts_role_values(operator_a, reviewer):
    @staff_required(Role.FEDERATION_REVIEWER)
    def view(request):
        from django.http import HttpResponse

        return HttpResponse("ok")

    request = RequestFactory().get("/x/")
    request.user = reviewer
    assert view(request).status_code == 200
    request.user = operator_a
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        view(request)
