"""Authorization matrix: every URL pattern of the project x every role -> allowed or refused.

The patterns are read from the URLconf, so a new URL without an entry in EXPECTED (or in
INCLUDES for another project's URLconf mounted here) fails `test_every_url_has_an_entry`.
Objects in the URLs belong to union B; `operator_a` is the operator of union A, so on
member-scoped pages it must be refused exactly like a role without the right.

Allowed = the page answers (200, a redirect that is not to a login, 400/405 for an empty
form); refused = a login redirect, 401, 403 or 404 (404: the scoped fetch hides the object).
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from huzhu.organizations.models import Role
from tests.factories import ClaimFactory, EnrollmentFactory, MemberFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = [
    "anonymous",
    "member",
    "operator_a",
    "reviewer",
    "finance",
    "editor",
    "chief",
    "auditor",
    "admin",
]
STAFF = set(ROLES) - {"anonymous", "member"}
MEMBER_DATA = {"operator_a", "reviewer", "finance", "admin"}
# operator_a works on union A: union B's objects are refused to it.
MEMBER_DATA_ON_B = MEMBER_DATA - {"operator_a"}
PUBLIC = set(ROLES)
ANY_LOGIN = set(ROLES) - {"anonymous"}

# name -> (roles allowed, HTTP method). Objects in the URL are union B's.
EXPECTED: dict[str, tuple[set[str], str]] = {
    # staff login and second factor
    "web:login": (PUBLIC, "GET"),
    # logout and bind answer everyone with the login page
    "web:logout": (set(), "POST"),
    "web:otp_verify": (STAFF, "GET"),
    "web:otp_setup": (STAFF, "GET"),
    "web:otp_setup_optional": (STAFF, "GET"),
    "web:password_change": (STAFF, "GET"),
    "web:dashboard": (STAFF, "GET"),
    "web:ops": ({"admin"}, "GET"),
    "web:ops_job_run": ({"admin"}, "POST"),
    # administrators
    "web:account_list": ({"admin"}, "GET"),
    "web:account_create": ({"admin"}, "GET"),
    "web:account_edit": ({"admin"}, "GET"),
    "web:account_password_reset": ({"admin"}, "POST"),
    "web:account_second_factor_reset": ({"admin"}, "POST"),
    "web:account_unlock": ({"admin"}, "POST"),
    "web:audit_list": ({"admin", "auditor"}, "GET"),
    "web:audit_export": ({"admin", "auditor"}, "GET"),
    # the consent text: read by who enrolls or edits; published by admin and the editors
    "web:consent_text": (MEMBER_DATA | {"editor", "chief"}, "GET"),
    # union tree, members, enrollment
    "web:union_tree": (MEMBER_DATA, "GET"),
    "web:member_list": (MEMBER_DATA, "GET"),
    "web:member_detail": (MEMBER_DATA_ON_B, "GET"),
    "web:member_reveal": (MEMBER_DATA_ON_B, "POST"),
    # correcting details: the member's own union operator (and admin), not A's operator
    "web:member_edit": ({"admin"}, "POST"),
    "web:enrollment_withdraw": ({"admin"}, "POST"),
    "web:enrollment_import": ({"operator_a", "reviewer", "admin"}, "GET"),
    "web:enrollment_import_preview": ({"operator_a", "reviewer", "admin"}, "GET"),
    "web:enrollment_import_confirm": ({"operator_a", "reviewer", "admin"}, "POST"),
    "web:enrollment_import_cancel": ({"operator_a", "reviewer", "admin"}, "POST"),
    "web:enrollment_import_template": ({"operator_a", "reviewer", "admin"}, "GET"),
    "web:enrollment_import_problems": ({"operator_a", "reviewer", "admin"}, "GET"),
    "web:member_card_worklist": (MEMBER_DATA, "GET"),
    # plans (互助方案): federation staff
    "web:plan_list": ({"reviewer", "finance", "admin"}, "GET"),
    "web:plan_version": ({"reviewer", "finance", "admin"}, "GET"),
    "web:plan_compare": ({"reviewer", "finance", "admin"}, "GET"),
    "web:fee_statements": (MEMBER_DATA, "GET"),
    "web:reports": (MEMBER_DATA, "GET"),
    "web:report": (MEMBER_DATA, "GET"),
    "web:fee_statement_download": (MEMBER_DATA_ON_B, "GET"),
    "web:fee_receipt_add": ({"finance", "admin"}, "POST"),
    "web:fee_receipt_voucher": (MEMBER_DATA, "GET"),
    # claims and review
    "web:claim_list": (MEMBER_DATA, "GET"),
    "web:claim_detail": (MEMBER_DATA_ON_B, "GET"),
    "web:review_queue": ({"operator_a", "reviewer", "admin"}, "GET"),
    "web:review_file_claim": ({"operator_a", "admin"}, "GET"),
    "web:review_detail": ({"reviewer", "admin"}, "GET"),
    "web:review_act": ({"reviewer", "admin"}, "POST"),
    "web:review_correct": ({"admin"}, "GET"),
    "web:review_document": ({"reviewer", "admin"}, "GET"),
    # payments: federation finance
    "web:payment_queue": ({"finance", "admin"}, "GET"),
    "web:payment_batches": ({"finance", "admin"}, "GET"),
    "web:payment_batch_create": ({"finance", "admin"}, "POST"),
    "web:payment_batch": ({"finance", "admin"}, "GET"),
    "web:payment_batch_export": ({"finance", "admin"}, "GET"),
    "web:payment_batch_mark_sent": ({"finance", "admin"}, "POST"),
    "web:payment_batch_return": ({"finance", "admin"}, "POST"),
    "web:payment_batch_cancel": ({"finance", "admin"}, "POST"),
    "web:payment_batch_summary": ({"finance", "admin"}, "GET"),
    "web:payment_adjustments": ({"finance", "admin"}, "GET"),
    # settlement imports
    "web:settlement_upload": ({"reviewer", "finance", "admin"}, "GET"),
    "web:settlement_batch": ({"reviewer", "finance", "admin"}, "GET"),
    # member pages (/m/): the member's own data only
    "member:home": ({"member"}, "GET"),
    "member:login": (PUBLIC, "GET"),
    "member:bind": (set(), "GET"),
    "member:logout": (set(), "POST"),
    "member:coverage": ({"member"}, "GET"),
    "member:consent": ({"member"}, "GET"),
    "member:bank_card": ({"member"}, "GET"),
    "member:claim_list": ({"member"}, "GET"),
    "member:claim_new": ({"member"}, "GET"),
    "member:invoice_scan": ({"member"}, "POST"),
    # WeChat (docs/wechat.md): off without an app id (404 for everyone); unbinding is the
    # member's own
    "member:wechat": (set(), "GET"),
    "member:wechat_callback": (set(), "GET"),
    "member:wechat_unbind": ({"member"}, "POST"),
    # another member's claim and document: refused to this member too
    "member:claim_detail": (set(), "GET"),
    "member:claim_correct": (set(), "GET"),
    "member:document": (set(), "GET"),
}

# Other projects' URLconfs mounted here: one representative URL each, with the roles that
# may open it. Their own login pages redirect to /staff/login/ (tested elsewhere).
INCLUDES: dict[str, tuple[str, set[str]]] = {
    "cms/": ("/cms/", {"editor", "chief", "admin"}),
    "django-admin/": ("/django-admin/", {"admin"}),
    "documents/": ("/documents/999999/x.pdf", set()),
    "api/": ("/api/docs", PUBLIC),
    "": ("/", PUBLIC),
}
# Patterns of this project outside the namespaces above (redirects to the staff login).
OWN_REDIRECTS = {"cms/login/", "django-admin/login/"}
# Operations endpoints (huzhu/ops): no login; /metrics answers allowed addresses only.
OWN_OPS = {"healthz", "metrics"}
# The official account's server address: signed by WeChat, no login (tests/wechat/).
OWN_WECHAT = {"wechat/"}

LOGIN_PAGES = {"/staff/login/", "/m/login/", "/cms/login/", "/django-admin/login/"}
# Pages whose object the matrix does not create (a payment or settlement batch): the roles
# allowed get 404 (past the role gate), the others the login page or 403.
NO_OBJECT = {
    "web:payment_batch",
    "web:payment_batch_export",
    "web:payment_batch_mark_sent",
    "web:payment_batch_return",
    "web:payment_batch_cancel",
    "web:payment_batch_summary",
    "web:settlement_batch",
    "web:ops_job_run",
    "web:fee_receipt_voucher",
    "web:report",
    "web:enrollment_import_preview",
    "web:enrollment_import_confirm",
    "web:enrollment_import_cancel",
    "web:enrollment_import_problems",
    "web:plan_version",
    "web:plan_compare",
}


def _walk(patterns, prefix="", namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = p.namespace or namespace
            if ns in ("web", "member"):
                yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
            else:
                yield ("include", prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            if namespace in ("web", "member"):
                yield ("name", f"{namespace}:{p.name}")
            else:
                yield ("own", prefix + str(p.pattern))


def test_every_url_has_an_entry():
    found = set(_walk(get_resolver().url_patterns))
    names = {value for kind, value in found if kind == "name"}
    includes = {value for kind, value in found if kind == "include"}
    own = {value for kind, value in found if kind == "own"}
    assert names - EXPECTED.keys() == set(), "new URL: add it to EXPECTED"
    assert EXPECTED.keys() - names == set(), "URL gone: remove it from EXPECTED"
    assert includes - INCLUDES.keys() == set(), "new include: add it to INCLUDES"
    assert own - OWN_REDIRECTS - OWN_OPS - OWN_WECHAT - {"^media/(?P<path>.*)$"} == set()


@pytest.fixture
def world(tree, settings, tmp_path):
    """Union B's member with an enrollment, a claim, a document; users for each role."""
    from django.core.files.base import ContentFile

    from huzhu.members.models import DocumentKind, MemberDocument

    settings.HUZHU_DOCUMENT_DIR = tmp_path / "documents"

    member_b = MemberFactory(union=tree["b"])
    enrollment_b = EnrollmentFactory(member=member_b, union=tree["b"])
    claim_b = ClaimFactory(enrollment=enrollment_b)
    users = {
        "member": UserFactory(username="m1", role=Role.MEMBER, union=tree["a"]),
        "operator_a": UserFactory(username="op_a", role=Role.UNION_OPERATOR, union=tree["a"]),
        "reviewer": UserFactory(username="rev", role=Role.FEDERATION_REVIEWER, union=tree["fed"]),
        "finance": UserFactory(username="fin", role=Role.FEDERATION_FINANCE, union=tree["fed"]),
        "editor": UserFactory(username="ed", role=Role.PORTAL_EDITOR, union=tree["fed"]),
        "chief": UserFactory(username="chief", role=Role.PORTAL_CHIEF_EDITOR, union=tree["fed"]),
        "auditor": UserFactory(username="aud", role=Role.AUDITOR, union=tree["fed"]),
        "admin": UserFactory(
            username="root", role=Role.ADMIN, union=tree["fed"], is_superuser=True, is_staff=True
        ),
    }
    # The member login is bound to a member of union A (not B)
    MemberFactory(union=tree["a"], user=users["member"])
    from wagtail.models import Page

    from huzhu.portal.services import portal_editorial_setup, portal_groups_sync

    portal_editorial_setup(root=Page.get_first_root_node())
    for role in ("editor", "chief"):
        portal_groups_sync(user=users[role])
    document = MemberDocument(
        member=member_b,
        claim=claim_b,
        kind=DocumentKind.values[0],
        content_type="image/jpeg",
        size=3,
        sha256="0" * 64,
    )
    document.file.save("paper.jpg", ContentFile(b"abc"), save=True)
    return {
        "users": users,
        "args": {
            "pk": {
                "web:account_edit": users["operator_a"].pk,
                "web:account_password_reset": users["operator_a"].pk,
                "web:account_second_factor_reset": users["operator_a"].pk,
                "web:account_unlock": users["operator_a"].pk,
                "web:member_detail": member_b.pk,
                "web:member_reveal": member_b.pk,
                "web:member_edit": member_b.pk,
                "web:enrollment_withdraw": enrollment_b.pk,
                "web:claim_detail": claim_b.pk,
                "web:review_detail": claim_b.pk,
                "web:review_act": claim_b.pk,
                "web:review_correct": claim_b.pk,
                "web:review_document": document.pk,
                "member:claim_detail": claim_b.pk,
                "member:claim_correct": claim_b.pk,
                "member:document": document.pk,
            },
            "union_id": tree["b"].pk,
            "year": enrollment_b.scheme_year.year,
        },
    }


def _url(name: str, world) -> str | None:
    from django.urls import NoReverseMatch, reverse

    args = world["args"]
    for kwargs in (
        {},
        {"pk": args["pk"].get(name, 999_999)},
        {"token": "t" * 20},
        {"union_id": args["union_id"], "year": args["year"]},
        {"pk": 999_999, "fmt": "xlsx"},
        {"name": "no-such-job"},
    ):
        try:
            return reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            continue
    return None


def _refused(response, *, missing_object: bool = False) -> bool:
    if response.status_code in (401, 403) or (response.status_code == 404 and not missing_object):
        return True
    if response.status_code == 302:
        return response["Location"].split("?")[0] in LOGIN_PAGES
    return False


@pytest.mark.parametrize("role", ROLES)
def test_each_role_opens_exactly_its_pages(client, world, role, settings):
    settings.HUZHU_SECOND_FACTOR_ROLES = []
    if role != "anonymous":
        client.force_login(world["users"][role])
    wrong = []
    for name, (allowed, method) in EXPECTED.items():
        url = _url(name, world)
        assert url, name
        response = client.post(url, {}) if method == "POST" else client.get(url)
        if role != "anonymous" and name.endswith(":logout"):
            client.force_login(world["users"][role])
        refused = _refused(response, missing_object=name in NO_OBJECT)
        if (role in allowed) == refused:
            wrong.append(f"{name} {url} -> {response.status_code}")
    for prefix, (url, allowed) in INCLUDES.items():
        response = client.get(url)
        if (role in allowed) == _refused(response):
            wrong.append(f"{prefix} {url} -> {response.status_code}")
    assert wrong == [], f"{role}: {wrong}"


def test_scoped_pages_answer_union_a_operator_like_a_missing_object(client, world):
    """Union A's operator gets the same 404 for union B's member as for a member that does
    not exist: it cannot even learn that the member exists."""
    client.force_login(world["users"]["operator_a"])
    pk = world["args"]["pk"]["web:member_detail"]
    assert client.get(f"/staff/members/{pk}/").status_code == 404
    assert client.get("/staff/members/999999/").status_code == 404
