"""/staff/consent/: the current consent text for staff; admins and editors publish a version.
The enrollment upload page requires the consent attestation."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from huzhu.audit.models import AuditEvent
from huzhu.enrollment.consent import consent_text_current
from huzhu.enrollment.models import EnrollmentImport
from huzhu.organizations.models import Role
from tests.enrollment.helpers import id_number, xlsx
from tests.factories import SchemeYearFactory, UnionFactory, UserFactory

pytestmark = pytest.mark.django_db

BODY = "处理哪些信息、由谁处理、为什么处理、保存多久。" * 4


@pytest.mark.parametrize("role", [Role.ADMIN, Role.PORTAL_EDITOR, Role.PORTAL_CHIEF_EDITOR])
def test_admin_and_editors_publish_a_new_version(client, role):
    user = UserFactory(username="u1", role=role)
    client.force_login(user)
    page = client.get("/staff/consent/").content.decode()
    assert "第 1 版（现行）" in page and "发布新版本" in page
    response = client.post("/staff/consent/", {"title": "个人信息处理同意书", "body": BODY})
    assert response.status_code == 302
    assert consent_text_current().version == 2
    assert AuditEvent.objects.get(action="consent.text_publish").actor == user
    assert "第 2 版（现行）" in client.get("/staff/consent/").content.decode()


def test_others_read_it_but_cannot_publish(client):
    union = UnionFactory()
    client.force_login(UserFactory(username="op", role=Role.UNION_OPERATOR, union=union))
    page = client.get("/staff/consent/").content.decode()
    assert "第 1 版（现行）" in page and 'name="body"' not in page
    response = client.post("/staff/consent/", {"title": "x", "body": BODY})
    assert response.status_code == 403 and consent_text_current().version == 1


def test_a_too_short_text_is_refused_with_the_reason(client):
    client.force_login(UserFactory(username="adm", role=Role.ADMIN))
    response = client.post("/staff/consent/", {"title": "同意书", "body": "太短"})
    assert response.status_code == 400 and "正文过短" in response.content.decode()
    assert consent_text_current().version == 1


def _upload(client, union, **extra):
    data = xlsx(
        [["张三", id_number(), None, None, None, "否"]],
        header=["姓名", "身份证号", "手机号", "开户银行", "银行账号", "同意书"],
    )
    payload = {
        "scheme_year": SchemeYearFactory(year=2026).pk,
        "enrolled_on": "2025-12-01",
        "file": SimpleUploadedFile("名单.xlsx", data),
        **extra,
    }
    return client.post(reverse("web:enrollment_import"), payload)


def test_the_upload_page_requires_the_attestation_and_the_import_records_it(client):
    union = UnionFactory(code="W9")
    operator = UserFactory(username="op", role=Role.UNION_OPERATOR, union=union)
    client.force_login(operator)
    page = client.get(reverse("web:enrollment_import")).content.decode()
    assert 'name="consent_attested"' in page and "个人信息处理同意书" in page
    response = _upload(client, union)
    assert response.status_code == 400
    assert "请确认职工已签署个人信息处理同意书" in response.content.decode()

    response = _upload(client, union, consent_attested="on")
    assert response.status_code == 302
    preview = client.get(response["Location"]).content.decode()
    assert 'id="not-consented"' in preview and "未签署同意书" in preview
    done = client.post(response["Location"] + "confirm/", {"policy": "all"})
    assert done.status_code == 200, done.content.decode()[:500]
    batch = EnrollmentImport.objects.get()
    assert batch.consent_attested_by == operator and batch.consent_text.version == 1
    assert batch.summary["not_consented"] == 1
